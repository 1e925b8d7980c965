"""Console forms: every rule entity_save enforces is reported as a form error before anything
is written, so a refused change re-renders the page with messages instead of failing."""

from contextlib import contextmanager

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.utils.text import capfirst

from campaigns.services import entity_assert_editable

INLINE_MAX_ROWS = 200


def _parent_fk(instance):
    for name in ("campaign", "line_item"):
        try:
            return instance._meta.get_field(name)
        except FieldDoesNotExist:
            continue
    return None


@contextmanager
def _as_if_parent_saved(instance):
    """Yield True while `instance` looks attached to its parent that is not saved yet.

    The models check a line item against its campaign (bid limits, dates, budget) only once
    `campaign_id` is set, and a keyword against its line item likewise. On an add page with
    inlines the parent has no id until it is saved, after validation. So the id is set to a
    placeholder, bypassing the descriptor that would drop the cached parent, for as long as
    clean() runs; clean() then reads the in-memory parent the user has just filled in.
    """
    fk = _parent_fk(instance)
    if fk is None or getattr(instance, fk.attname) is not None or not fk.is_cached(instance):
        yield False
        return
    instance.__dict__[fk.attname] = -1  # truthy, and no row has it
    try:
        yield True
    finally:
        instance.__dict__[fk.attname] = None


class TreeEntityForm(forms.ModelForm):
    """Base form of campaigns, line items, keywords, product ads and targets in the console."""

    def _post_clean(self):
        super()._post_clean()
        if self._errors or (self.instance.pk and not self.has_changed()):
            return
        try:
            with _as_if_parent_saved(self.instance) as pretended:
                if pretended:
                    self.instance.clean()
                entity_assert_editable(obj=self.instance)
        except ValidationError as exc:
            self._update_errors(exc)

    def _update_errors(self, errors):
        # A model rule may name a field this form shows read-only (a trader's view of a budget):
        # report it on the form as a whole, prefixed with the field's label, instead of failing.
        if hasattr(errors, "error_dict"):
            regrouped: dict[str, list] = {}
            for field, messages in errors.error_dict.items():
                if field == NON_FIELD_ERRORS or field in self.fields:
                    regrouped.setdefault(field, []).extend(messages)
                    continue
                try:
                    label = capfirst(self.instance._meta.get_field(field).verbose_name)
                except FieldDoesNotExist:
                    label = field
                for message in messages:
                    for text in message.messages:
                        regrouped.setdefault(NON_FIELD_ERRORS, []).append(ValidationError(f"{label}: {text}"))
            errors = ValidationError(regrouped)
        super()._update_errors(errors)


class CappedInlineFormSet(forms.BaseInlineFormSet):
    """Inline rows limited to the first INLINE_MAX_ROWS (a line item may hold thousands of
    keywords); the changelist, linked from the page, has them all.

    On an add page each row also gets the (unsaved) parent the user is filling in, so that
    TreeEntityForm can check the row against it before anything is saved."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if self.instance.pk is None:
            setattr(form.instance, self.fk.name, self.instance)
        return form

    def get_queryset(self):
        if not hasattr(self, "_queryset"):
            queryset = super().get_queryset()
            if self.instance.pk is not None:
                first = list(queryset.values_list("pk", flat=True)[:INLINE_MAX_ROWS])
                queryset = queryset.filter(pk__in=first)
            self._queryset = queryset
        return self._queryset
