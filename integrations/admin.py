"""Ops console pages for partner connections.

Credentials are superuser business: the page never shows a stored secret (nor its ciphertext),
only whether one is set; a write-only field replaces it.
"""

from django import forms
from django.contrib import admin

from integrations.models import AmazonConnection

_SECRET_HELP = "Write-only. Leave blank to keep the stored value."


class AmazonConnectionForm(forms.ModelForm):
    new_client_secret = forms.CharField(
        label="Client secret", required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}), help_text=_SECRET_HELP,
    )
    new_refresh_token = forms.CharField(
        label="Refresh token", required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}), help_text=_SECRET_HELP,
    )

    base_url = forms.URLField(required=False, assume_scheme="https", max_length=300,
                              help_text="Blank: the region's API host.")
    token_url = forms.URLField(required=False, assume_scheme="https", max_length=300,
                               help_text="Blank: the region's LWA host.")

    class Meta:
        model = AmazonConnection
        fields = [
            "name", "advertiser", "region", "client_id", "profile_id", "dsp_advertiser_id", "dsp_account_id",
            "token_url", "base_url",
        ]

    def clean(self):
        cleaned = super().clean()
        creating = self.instance.pk is None
        for field, stored in (("new_client_secret", "client_secret_encrypted"),
                              ("new_refresh_token", "refresh_token_encrypted")):
            if not cleaned.get(field) and (creating or not getattr(self.instance, stored)):
                self.add_error(field, "Required: no value is stored yet.")
        return cleaned

    def save(self, commit=True):
        connection = super().save(commit=False)
        if self.cleaned_data.get("new_client_secret"):
            connection.client_secret = self.cleaned_data["new_client_secret"]
        if self.cleaned_data.get("new_refresh_token"):
            connection.refresh_token = self.cleaned_data["new_refresh_token"]
        if commit:
            connection.save()
        return connection


@admin.register(AmazonConnection)
class AmazonConnectionAdmin(admin.ModelAdmin):
    form = AmazonConnectionForm
    list_display = ["name", "advertiser", "region", "profile_id", "dsp_advertiser_id", "credentials", "updated_at"]
    list_filter = ["region"]
    list_select_related = ["advertiser"]
    search_fields = ["name", "advertiser__name", "dsp_advertiser_id", "profile_id"]
    raw_id_fields = ["advertiser"]
    readonly_fields = ["credentials", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "advertiser", "region"]}),
        ("Credentials", {"fields": ["client_id", "credentials", "new_client_secret", "new_refresh_token"]}),
        ("Scope", {"fields": ["profile_id", "dsp_advertiser_id", "dsp_account_id"]}),
        ("Hosts (blank: Amazon's regional hosts; set for the fake DSP)", {"fields": ["base_url", "token_url"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="secrets")
    def credentials(self, obj):
        if obj is None or obj.pk is None:
            return "not set"
        secret = "client secret ••••••" if obj.client_secret_encrypted else "no client secret"
        token = "refresh token ••••••" if obj.refresh_token_encrypted else "no refresh token"
        return f"{secret}; {token} (stored encrypted)"

    # Stored credentials can spend any advertiser's budget: superusers only.
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser
