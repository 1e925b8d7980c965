"""Partner connections, external references and sync runs (Amazon DSP, competitor prices)."""

from django.db import models

from integrations import crypto


class AmazonRegion(models.TextChoices):
    NA = "NA", "North America"
    EU = "EU", "Europe"
    FE = "FE", "Far East"


class AmazonConnection(models.Model):
    """One set of Amazon Ads credentials (an LWA app + a user's refresh token) and the scope it
    works in: the region, the DSP agency profile, and the DSP advertiser/account it manages.

    The client secret and the refresh token are stored encrypted (integrations.crypto) and are
    read through the `client_secret` / `refresh_token` properties; they are never displayed,
    and neither appears in str() or repr().
    """

    name = models.CharField(max_length=200, unique=True)
    advertiser = models.ForeignKey(
        "campaigns.Advertiser",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="amazon_connections",
        help_text="Blank for an agency-level connection that serves several advertisers.",
    )
    region = models.CharField(max_length=2, choices=AmazonRegion.choices, default=AmazonRegion.NA)
    client_id = models.CharField(max_length=200, help_text="LWA client id (amzn1.application-oa2-client…).")
    client_secret_encrypted = models.TextField(editable=False)
    refresh_token_encrypted = models.TextField(editable=False)
    # Profile ids are int64: kept as text so no layer rounds them through a float.
    profile_id = models.CharField(max_length=32, blank=True, help_text="DSP agency profile (Scope header).")
    dsp_advertiser_id = models.CharField(
        max_length=64, blank=True, help_text="DSP advertiser id (Amazon-Ads-AccountId header, /dsp/v1 calls)."
    )
    dsp_account_id = models.CharField(
        max_length=64, blank=True, help_text="DSP entity id (ENTITY…) for reports; blank: the advertiser id."
    )
    token_url = models.URLField(max_length=300, blank=True, help_text="Blank: the region's LWA host.")
    base_url = models.URLField(max_length=300, blank=True, help_text="Blank: the region's API host.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<AmazonConnection {self.pk}: {self.name} ({self.region})>"

    @property
    def client_secret(self) -> str:
        return crypto.decrypt(self.client_secret_encrypted) if self.client_secret_encrypted else ""

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.client_secret_encrypted = crypto.encrypt(value) if value else ""

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted) if self.refresh_token_encrypted else ""

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_encrypted = crypto.encrypt(value) if value else ""

    @property
    def has_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret_encrypted and self.refresh_token_encrypted)

    @property
    def report_account_id(self) -> str:
        return self.dsp_account_id or self.dsp_advertiser_id

    def rotate_secrets(self) -> None:
        """Re-encrypt both secrets under the first configured key (caller saves)."""
        if self.client_secret_encrypted:
            self.client_secret_encrypted = crypto.rotate(self.client_secret_encrypted)
        if self.refresh_token_encrypted:
            self.refresh_token_encrypted = crypto.rotate(self.refresh_token_encrypted)
