"""List filters for /api/v1/creatives/. Ids are bounded integers (campaigns.api.filters.IdFilter):
"1.5" or an id past BIGINT is a 400, not a guess or a database error."""

import django_filters
from django.db.models import Exists, OuterRef, Q

from campaigns.api.filters import IdFilter, IsoDateTimeFilter

from creatives.choices import CreativeKind, CreativeStatus, Delivery, MediaFormat, SpecGroup
from creatives.models import AdSpec, Creative, RenditionAssignment, SpecVerdict


def _spec_q(value: str) -> Q:
    """A spec by id or by code."""
    value = value.strip()
    return Q(spec_id=int(value)) if value.isdigit() and len(value) < 19 else Q(spec__code=value)


class CreativeFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CreativeStatus.choices)
    kind = django_filters.MultipleChoiceFilter(choices=CreativeKind.choices)
    delivery = django_filters.ChoiceFilter(choices=Delivery.choices)
    detected_format = django_filters.MultipleChoiceFilter(choices=MediaFormat.choices)
    advertiser = IdFilter(field_name="advertiser_id")
    passes_spec = django_filters.CharFilter(method="filter_verdict", help_text="Spec id or code the creative passes.")
    fails_spec = django_filters.CharFilter(method="filter_verdict", help_text="Spec id or code the creative fails.")
    batch = IdFilter(field_name="batch_items__batch_id", distinct=True)
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Creative
        fields = []

    def filter_verdict(self, queryset, name, value):
        verdicts = SpecVerdict.objects.filter(_spec_q(value), creative=OuterRef("pk"), passed=name == "passes_spec")
        return queryset.filter(Exists(verdicts))


class AdSpecFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=CreativeKind.choices)
    group = django_filters.MultipleChoiceFilter(choices=SpecGroup.choices)
    delivery = django_filters.ChoiceFilter(choices=Delivery.choices)
    is_active = django_filters.BooleanFilter()
    # Sizes are bounded like ids: a width past BIGINT is a 400, not a database error.
    width = IdFilter(min_value=0)
    height = IdFilter(min_value=0)

    class Meta:
        model = AdSpec
        fields = ["width", "height"]


class AssignmentFilter(django_filters.FilterSet):
    creative = IdFilter(field_name="rendition__creative_id")
    line_item = IdFilter(field_name="line_item_id")

    class Meta:
        model = RenditionAssignment
        fields = []
