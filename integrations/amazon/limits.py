"""Per-call limits of the DSP API, shared by the client (to chunk), the fake (to refuse) and
the sync benchmark (to compute the minimum number of requests a push needs).

Documented: associations ≤ 20 per call, list pages ≤ 100, offset `count` ≤ 100, report range
≤ 31 days and lookback ≤ 90 days. Not documented in our sources: the item limit of G2 batch
writes; we assume 100 (the list page size) until Amazon says otherwise.
"""

CAMPAIGNS_PER_WRITE = 100  # assumed, see above
AD_GROUPS_PER_WRITE = 100  # assumed
TARGETS_PER_WRITE = 100  # assumed
ASSOCIATIONS_PER_WRITE = 20
LIST_PAGE_MAX = 100
OFFSET_COUNT_MAX = 100
AD_CREATIVES_PAGE_DEFAULT = 50
REPORT_MAX_RANGE_DAYS = 31
REPORT_MAX_LOOKBACK_DAYS = 90

# Per-item error codes in a 207 answer that mean "try this item again", not "fix it".
TRANSIENT_ITEM_ERRORS = frozenset({"INTERNAL_ERROR", "THROTTLED", "TOO_MANY_REQUESTS", "SERVICE_UNAVAILABLE"})
