"""List filters for /api/v1/creatives/."""

import django_filters
from django.db.models import Exists, OuterRef, Q

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
    advertiser = django_filters.NumberFilter(field_name="advertiser_id")
    passes_spec = django_filters.CharFilter(method="filter_verdict", help_text="Spec id or code the creative passes.")
    fails_spec = django_filters.CharFilter(method="filter_verdict", help_text="Spec id or code the creative fails.")
    batch = django_filters.NumberFilter(field_name="batch_items__batch_id", distinct=True)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
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

    class Meta:
        model = AdSpec
        fields = ["width", "height"]


class AssignmentFilter(django_filters.FilterSet):
    creative = django_filters.NumberFilter(field_name="rendition__creative_id")
    line_item = django_filters.NumberFilter(field_name="line_item_id")

    class Meta:
        model = RenditionAssignment
        fields = []
