from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

from bidding.choices import AuditTrigger
from bidding.models import AuditFinding, AuditRun, ProductBid, SpendFinding


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL an unfiltered changelist of millions of bids counts from the planner's
    estimate (pg_class.reltuples) instead of a full COUNT(*); filtered pages count exactly."""

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] and row[0] > 100_000:
                return int(row[0])
        return super().count


@admin.register(ProductBid)
class ProductBidAdmin(admin.ModelAdmin):
    list_display = ["id", "product_id", "current_cpc", "target_roas", "adjusted_cpc", "calculated_at"]
    list_filter = ["calculated_at"]
    search_fields = ["=product_id"]
    date_hierarchy = "calculated_at"
    ordering = ["-calculated_at", "-id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False  # avoids a second COUNT(*) of the whole table
    list_per_page = 100

    def has_change_permission(self, request, obj=None):
        return False  # a bid is a record of a calculation; it is never edited

    def get_search_results(self, request, queryset, search_term):
        # Product ids are numbers: a non-numeric search finds nothing instead of erroring.
        if search_term and not search_term.strip().isdigit():
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)


class AuditFindingInline(admin.TabularInline):
    model = AuditFinding
    fields = ["product_id", "current_cpc", "adjusted_cpc", "change", "calculated_at", "bid"]
    readonly_fields = fields
    raw_id_fields = ["bid"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        # A run can flag thousands of bids: the page shows the first 200, the findings list has all.
        queryset = super().get_queryset(request)
        ids = list(queryset.values_list("pk", flat=True)[:200])
        return queryset.filter(pk__in=ids)


class SpendFindingInline(admin.TabularInline):
    model = SpendFinding
    fields = ["kind", "level", "advertiser", "campaign", "line_item", "day", "spend", "limit", "detail"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("advertiser", "campaign", "line_item")


@admin.register(AuditRun)
class AuditRunAdmin(admin.ModelAdmin):
    list_display = [
        "id", "status", "trigger", "window_start", "window_end", "threshold",
        "total_bids", "flagged_count", "duration_ms", "created_at",
    ]
    list_filter = ["status", "trigger", "created_at"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditRun._meta.fields]
    inlines = [AuditFindingInline, SpendFindingInline]
    actions = ["run_audit_now"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Queue a budget audit now (default window and threshold)")
    def run_audit_now(self, request, queryset):
        from bidding.tasks import daily_budget_audit

        daily_budget_audit(trigger=AuditTrigger.ADMIN)
        self.message_user(request, "Budget audit queued; it appears in this list when it starts.", messages.SUCCESS)


@admin.register(AuditFinding)
class AuditFindingAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "product_id", "current_cpc", "adjusted_cpc", "change", "calculated_at"]
    list_filter = ["run__status"]
    list_select_related = ["run"]
    search_fields = ["=product_id"]
    raw_id_fields = ["run", "bid"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
