"""Filters by id are plain numbers, not choice fields: a choice field would answer 400 for an id
that does not exist and 200 for another advertiser's, leaking which ids exist."""

import django_filters

from campaigns.rules.models import Event, EventStatus, MatchStatus, Rule, RuleMatch


class EventFilter(django_filters.FilterSet):
    advertiser = django_filters.NumberFilter(field_name="advertiser")
    status = django_filters.ChoiceFilter(choices=EventStatus.choices)
    received_after = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="lte")

    class Meta:
        model = Event
        fields = ["advertiser", "type", "status", "event_id", "received_after", "received_before"]


class RuleFilter(django_filters.FilterSet):
    advertiser = django_filters.NumberFilter(field_name="advertiser")

    class Meta:
        model = Rule
        fields = ["advertiser", "event_type", "enabled"]


class RuleMatchFilter(django_filters.FilterSet):
    advertiser = django_filters.NumberFilter(field_name="advertiser")
    event = django_filters.NumberFilter(field_name="event")
    rule = django_filters.NumberFilter(field_name="rule")
    status = django_filters.ChoiceFilter(choices=MatchStatus.choices)

    class Meta:
        model = RuleMatch
        fields = ["advertiser", "event", "rule", "status", "action", "target_type", "target_id"]
