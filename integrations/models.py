"""Partner connections, external references and sync runs (Amazon DSP, competitor prices)."""

from django.db import models

from integrations import crypto


class AmazonRegion(models.TextChoices):
    NA = "NA", "North America"
    EU = "EU", "Europe"
    FE = "FE", "Far East"


class AmazonConnection(models.Model):
    """One set of Amazon Ads credentials (an LWA app + a user's refresh token: an agency's login or
    manager account) and where it works: the region, the DSP agency profile and entity. Which of
    our advertisers it serves, and as which DSP advertiser, is in AmazonAdvertiserLink: one
    connection can serve many advertisers.

    The client secret and the refresh token are stored encrypted (integrations.crypto) and are
    read through the `client_secret` / `refresh_token` properties; they are never displayed,
    and neither appears in str() or repr().
    """

    name = models.CharField(max_length=200, unique=True)
    region = models.CharField(max_length=2, choices=AmazonRegion.choices, default=AmazonRegion.NA)
    client_id = models.CharField(max_length=200, help_text="LWA client id (amzn1.application-oa2-client…).")
    client_secret_encrypted = models.TextField(editable=False)
    refresh_token_encrypted = models.TextField(editable=False)
    # Profile ids are int64: kept as text so no layer rounds them through a float.
    profile_id = models.CharField(max_length=32, blank=True, help_text="DSP agency profile (Scope header).")
    dsp_account_id = models.CharField(
        max_length=64, blank=True,
        help_text="DSP entity id (ENTITY…) the reports are requested under; blank: each advertiser's own id.",
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

    def rotate_secrets(self) -> None:
        """Re-encrypt both secrets under the first configured key (caller saves)."""
        if self.client_secret_encrypted:
            self.client_secret_encrypted = crypto.rotate(self.client_secret_encrypted)
        if self.refresh_token_encrypted:
            self.refresh_token_encrypted = crypto.rotate(self.refresh_token_encrypted)


# --- Sync with Amazon DSP: external identity, runs, conflicts ---------------------------------
# (appended; AmazonConnection above is unchanged)

from django.conf import settings as _settings  # noqa: E402
from django.contrib.contenttypes.fields import GenericForeignKey  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns.models import Advertiser  # noqa: E402
from campaigns.querysets import TenantQuerySet  # noqa: E402


class AmazonAdvertiserLink(models.Model):
    """Which DSP advertiser one of our advertisers is, and the connection that reaches it.

    An agency's connection (one login) serves many of our advertisers, each through its own
    link; an advertiser has at most one link, so a sync always knows which account it writes
    to. A DSP advertiser id is linked to at most one of our advertisers: two tenants syncing
    into one Amazon account would see and overwrite each other's objects.
    """

    connection = models.ForeignKey(AmazonConnection, on_delete=models.PROTECT, related_name="links")
    advertiser = models.OneToOneField(Advertiser, on_delete=models.CASCADE, related_name="amazon_link")
    dsp_advertiser_id = models.CharField(
        max_length=64, help_text="The DSP advertiser id (Amazon-Ads-AccountId header of /dsp/v1 calls).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["connection_id", "advertiser_id"]
        verbose_name = "Amazon advertiser link"
        constraints = [
            models.UniqueConstraint(
                fields=["dsp_advertiser_id"], condition=~Q(dsp_advertiser_id=""), name="amazonlink_unique_dsp_advertiser",
                violation_error_message="This DSP advertiser is already linked to another of our advertisers."),
        ]

    def __str__(self) -> str:
        return f"{self.advertiser_id} → DSP {self.dsp_advertiser_id or '(none)'}"

    @property
    def report_account_id(self) -> str:
        """The account in the report path: the agency entity when the connection has one (then
        the report is filtered to this advertiser), else the DSP advertiser itself."""
        return self.connection.dsp_account_id or self.dsp_advertiser_id


class ExternalSystem(models.TextChoices):
    AMAZON_DSP = "amazon_dsp", "Amazon DSP"
    # Ids from Amazon's bulk-sheet downloads (Sponsored Products ids, not DSP ids): recorded when
    # a sheet is applied, so the next sheet finds the same objects by id (campaigns.bulksheets.ids).
    AMAZON_BULKSHEET = "amazon_bulksheet", "Amazon bulk sheet"


class ExternalRef(models.Model):
    """Which object in a partner system stands for one of ours (campaign → DSP campaign, line item
    → ad group, keyword/product target → target), and what both sides held at the last sync.

    `synced_values` is the base of a three-way merge: the synced fields, in the partner's terms,
    as they were when both sides last agreed. A field that differs from it on our side only is
    pushed, on their side only is pulled, on both sides (differently) is a SyncConflict.

    `external_id` is empty while a create is in flight (`pending_since` set): the request may have
    reached Amazon even if we never saw the answer, so the next run looks the object up by our
    externalId before creating it again. That journal row is what makes a killed run safe to repeat.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    obj = GenericForeignKey("content_type", "object_id")
    advertiser = models.ForeignKey(Advertiser, on_delete=models.CASCADE, related_name="external_refs")
    system = models.CharField(max_length=32, choices=ExternalSystem.choices, default=ExternalSystem.AMAZON_DSP)
    account_id = models.CharField(max_length=64, blank=True, help_text="The partner account (DSP advertiser id).")
    external_id = models.CharField(max_length=128, null=True, blank=True)
    pending_since = models.DateTimeField(
        null=True, blank=True, help_text="A create was sent and its outcome is unknown: look it up before creating."
    )
    synced_values = models.JSONField(default=dict, blank=True)
    synced_hash = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    remote_values = models.JSONField(default=dict, blank=True, help_text="As last read from the partner.")
    remote_hash = models.CharField(max_length=64, blank=True)
    remote_seen_at = models.DateTimeField(null=True, blank=True)
    delivery_status = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["advertiser_id", "content_type_id", "object_id"]
        constraints = [
            models.UniqueConstraint(fields=["system", "content_type", "object_id"], name="externalref_unique_object"),
            models.UniqueConstraint(
                fields=["system", "external_id"], condition=Q(external_id__isnull=False),
                name="externalref_unique_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["pending_since"], condition=Q(pending_since__isnull=False),
                         name="externalref_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.object_id} → {self.system} {self.external_id or '(pending)'}"


class SyncDirection(models.TextChoices):
    PUSH = "push"
    PULL = "pull"


class SyncScope(models.TextChoices):
    ALL = "all", "Everything"
    ENTITIES = "entities", "Campaigns, line items, targets"
    PERFORMANCE = "performance", "Daily performance (pull)"


class SyncStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class SyncTrigger(models.TextChoices):
    COMMAND = "command"
    ADMIN = "admin"
    SCHEDULE = "schedule"
    CHANGE = "change", "Changed objects"
    API = "api"


class SyncRun(models.Model):
    """One push or pull for one advertiser. The row is the job (Huey loses tasks on SIGKILL):
    queued → running (claim token, heartbeat per batch) → succeeded/failed; the reconciler
    re-queues a running row whose heartbeat went stale, and the rerun resumes idempotently."""

    connection = models.ForeignKey(AmazonConnection, on_delete=models.PROTECT, related_name="sync_runs")
    advertiser = models.ForeignKey(Advertiser, on_delete=models.CASCADE, related_name="sync_runs")
    direction = models.CharField(max_length=8, choices=SyncDirection.choices)
    scope = models.CharField(max_length=16, choices=SyncScope.choices, default=SyncScope.ALL)
    trigger = models.CharField(max_length=16, choices=SyncTrigger.choices, default=SyncTrigger.COMMAND)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    claim_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker claimed it.")
    heartbeat_at = models.DateTimeField(default=timezone.now)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="Per object: {object, code, message, request_id}.")
    error = models.TextField(blank=True, help_text="Why the run as a whole failed.")
    stats = models.JSONField(default=dict, blank=True, help_text="Requests made, report rows, …")
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    created_by = models.ForeignKey(
        _settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            # One live run per advertiser and direction: two pushes at once could both create.
            models.UniqueConstraint(
                fields=["advertiser", "direction"],
                condition=Q(status__in=["queued", "running"], dry_run=False),
                name="syncrun_one_live_per_direction",
            ),
        ]
        indexes = [
            models.Index(fields=["heartbeat_at"], condition=Q(status__in=["queued", "running"]),
                         name="syncrun_live_heartbeat_idx"),
            models.Index(fields=["advertiser", "direction", "-finished_at"], name="syncrun_last_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.advertiser_id} #{self.pk} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in (SyncStatus.QUEUED, SyncStatus.RUNNING)


class ConflictResolution(models.TextChoices):
    OURS = "ours", "Ours wins"
    THEIRS = "theirs", "Theirs wins"


class SyncConflict(models.Model):
    """A synced field that changed on both sides since the last sync. Neither side was written;
    an account manager picks the winner in the admin, and the choice is applied to the loser."""

    run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="conflict_rows")
    ref = models.ForeignKey(ExternalRef, on_delete=models.CASCADE, related_name="conflicts")
    advertiser = models.ForeignKey(Advertiser, on_delete=models.CASCADE, related_name="sync_conflicts")
    field = models.CharField(max_length=64, help_text="The synced field, in Amazon's terms.")
    base_value = models.JSONField(null=True, blank=True, help_text="Both sides' value at the last sync.")
    our_value = models.JSONField(null=True, blank=True)
    their_value = models.JSONField(null=True, blank=True)
    detected_at = models.DateTimeField(default=timezone.now)
    resolution = models.CharField(max_length=8, choices=ConflictResolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        _settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["ref", "field"], condition=Q(resolved_at__isnull=True),
                                    name="syncconflict_one_open_per_field"),
        ]

    def __str__(self) -> str:
        return f"{self.ref.content_type.model} {self.ref.object_id}.{self.field}: {self.our_value} ≠ {self.their_value}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class AmazonSyncAdvertiser(Advertiser):
    """The console's "Amazon sync" entry: advertisers, with push/pull actions and their sync state."""

    class Meta:
        proxy = True
        verbose_name = "Amazon sync"
        verbose_name_plural = "Amazon sync"


# --- Competitor price monitor ---------------------------------------------------------------------

class CompetitorSource(models.Model):
    """An HTTP source of competitor products in the DummyJSON shape (`/products?limit=&skip=`),
    fetched periodically; price moves beyond `change_threshold_percent` become rule events for
    the linked advertisers."""

    name = models.CharField(max_length=200, unique=True)
    base_url = models.URLField(max_length=300, help_text="The source's root; /products is appended.")
    page_size = models.PositiveIntegerField(default=100)
    change_threshold_percent = models.DecimalField(
        max_digits=6, decimal_places=2, default=5,
        help_text="A move of at least this percent emits competitor_price_drop / competitor_price_rise.",
    )
    advertisers = models.ManyToManyField(Advertiser, blank=True, related_name="competitor_sources",
                                         help_text="Their rules receive the price events.")
    enabled = models.BooleanField(default=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_product_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CompetitorProduct(models.Model):
    """One product of a source, with its latest known price."""

    source = models.ForeignKey(CompetitorSource, on_delete=models.CASCADE, related_name="products")
    external_id = models.CharField(max_length=64)
    title = models.CharField(max_length=300)
    brand = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=200, blank=True)
    sku = models.CharField(max_length=100, blank=True)
    price = models.DecimalField(max_digits=14, decimal_places=2)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["source_id", "title"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="competitorproduct_unique_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.price})"


class CompetitorPrice(models.Model):
    """Price history: a row when a product is first seen and each time its price changes."""

    product = models.ForeignKey(CompetitorProduct, on_delete=models.CASCADE, related_name="prices")
    price = models.DecimalField(max_digits=14, decimal_places=2)
    previous_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    change_percent = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    discount_percentage = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    observed_at = models.DateTimeField(default=timezone.now)
    event_type = models.CharField(max_length=64, blank=True, help_text="The rule event emitted, if any.")

    class Meta:
        ordering = ["-observed_at", "-id"]
        indexes = [models.Index(fields=["product", "-observed_at"], name="competitorprice_product_idx")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.previous_price} → {self.price}"
