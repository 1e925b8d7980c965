"""Filters by id are plain numbers, not choice fields: a choice field would answer 400 for an id
that does not exist and 200 for another advertiser's, leaking which ids exist. They are bounded
integers (campaigns.api.filters.IdFilter): "1.5" or an id past BIGINT is a 400, not a database error."""

import django_filters

from campaigns.api.filters import IdFilter, IsoDateTimeFilter

from campaigns.rules.models import Event, EventStatus, MatchStatus, Rule, RuleMatch


class EventFilter(django_filters.FilterSet):
    advertiser = IdFilter(field_name="advertiser_id")
    status = django_filters.ChoiceFilter(choices=EventStatus.choices)
    received_after = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = IsoDateTimeFilter(field_name="received_at", lookup_expr="lte")

    class Meta:
        model = Event
        fields = ["advertiser", "type", "status", "event_id", "received_after", "received_before"]


class RuleFilter(django_filters.FilterSet):
    advertiser = IdFilter(field_name="advertiser_id")

    class Meta:
        model = Rule
        fields = ["advertiser", "event_type", "enabled"]


class RuleMatchFilter(django_filters.FilterSet):
    advertiser = IdFilter(field_name="advertiser_id")
    event = IdFilter(field_name="event_id")
    rule = IdFilter(field_name="rule_id")
    status = django_filters.ChoiceFilter(choices=MatchStatus.choices)
    target_id = IdFilter(min_value=0)

    class Meta:
        model = RuleMatch
        fields = ["advertiser", "event", "rule", "status", "action", "target_type", "target_id"]
