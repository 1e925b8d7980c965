"""The fake DSP's memory: credentials, profiles, advertisers, entities, a warpable clock, and
the counters benchmarks read (requests served per route, time spent serving them)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.fakedsp000000000000000000000000"
DEFAULT_CLIENT_SECRET = "fake-dsp-client-secret-not-a-real-one"
DEFAULT_REFRESH_TOKEN = "Atzr|fake-dsp-refresh-token-not-a-real-one"

REGIONS = ("NA", "EU", "FE")

# One agency (DSP) profile per region plus a seller profile in NA, as /v2/profiles shows them.
_PROFILES = {
    "NA": [
        {"profileId": 1111111111111111, "countryCode": "US", "currencyCode": "USD", "timezone": "America/Los_Angeles",
         "accountInfo": {"marketplaceStringId": "ATVPDKIKX0DER", "id": "ENTITY2XYZ1234", "type": "agency",
                         "name": "Demo: US"}},
        {"profileId": 2222222222222222, "countryCode": "US", "currencyCode": "USD", "timezone": "America/Los_Angeles",
         "dailyBudget": 100.0,
         "accountInfo": {"marketplaceStringId": "ATVPDKIKX0DER", "id": "A2SELLER000001", "type": "seller",
                         "name": "Demo seller US", "validPaymentMethod": True}},
    ],
    "EU": [
        {"profileId": 3333333333333333, "countryCode": "UK", "currencyCode": "GBP", "timezone": "Europe/London",
         "accountInfo": {"marketplaceStringId": "A1F83G8C2ARO7P", "id": "ENTITYEU00001", "type": "agency",
                         "name": "Demo: UK"}},
    ],
    "FE": [
        {"profileId": 4444444444444444, "countryCode": "JP", "currencyCode": "JPY", "timezone": "Asia/Tokyo",
         "accountInfo": {"marketplaceStringId": "A1VC38T7YXB528", "id": "ENTITYFE00001", "type": "agency",
                         "name": "Demo: JP"}},
    ],
}
_REGION_ADVERTISER = {
    "NA": ("USD", "US", "America/Los_Angeles", 4728736040201),
    "EU": ("GBP", "UK", "Europe/London", 5828736040201),
    "FE": ("JPY", "JP", "Asia/Tokyo", 6928736040201),
}

DEFAULT_CONFIG = {
    "token_ttl": 3600,  # LWA: access tokens live 60 minutes
    "asset_processing_polls": 2,  # GET /assets answers PROCESSING this many times, then ACTIVE
    "report_polls": 1,  # GET report answers IN_PROGRESS this many times, then SUCCESS
    "report_outcome": "SUCCESS",  # or FAILURE
    "upload_url_ttl": 900,  # presigned asset upload URLs expire after 15 min
    "report_url_ttl": 3600,
}


@dataclass
class RouteStats:
    count: int = 0
    serving_seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)


class FakeState:
    """All mutable state, guarded by one re-entrant lock: the fake is about behaviour, not
    throughput, and a single lock keeps every handler trivially consistent."""

    def __init__(self, *, seed: int = 0, advertisers_per_region: int = 5, config: dict | None = None):
        self.lock = threading.RLock()
        self._initial = {"seed": seed, "advertisers_per_region": advertisers_per_region, "config": dict(config or {})}
        self.reset()

    # --- lifecycle ----------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None) -> None:
        with self.lock:
            # Requests still in flight from before (a slow, injected delay) must not count after it.
            self.generation = getattr(self, "generation", 0) + 1
            if seed is not None:
                self._initial["seed"] = seed
            self.seed = self._initial["seed"]
            self.config = {**DEFAULT_CONFIG, **self._initial["config"]}
            self.time_offset = 0.0
            self.apps = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
            self.refresh_tokens = {DEFAULT_REFRESH_TOKEN: DEFAULT_CLIENT_ID}
            self.access_tokens: dict[str, dict] = {}
            self.profiles = {region: [json.loads(json.dumps(p)) for p in _PROFILES[region]] for region in REGIONS}
            self.advertisers: dict[str, dict[str, dict]] = {region: {} for region in REGIONS}
            for region in REGIONS:
                self._seed_advertisers(region, self._initial["advertisers_per_region"])
            self.campaigns: dict[str, dict] = {}
            self.ad_groups: dict[str, dict] = {}
            self.targets: dict[str, dict] = {}
            self.uploads: dict[str, dict] = {}
            self.assets: dict[str, dict] = {}
            self.ad_creatives: dict[str, dict] = {}
            self.associations: dict[tuple[str, str], dict] = {}
            self.reports: dict[str, dict] = {}
            kinds = ("campaign", "adGroup", "target", "creative", "report", "asset", "upload")
            self._ids = {kind: itertools.count(1) for kind in kinds}
            self.reset_stats()

    def reset_stats(self) -> None:
        with self.lock:
            self.stats_generation = getattr(self, "stats_generation", 0) + 1
            self.route_stats: dict[str, RouteStats] = {}
            self.total_requests = 0
            self.total_serving_seconds = 0.0
            self.injected_delay_seconds = 0.0
            self.faults_fired: dict[str, int] = {}
            self.presigned_auth_rejected = 0
            self.recent: deque[dict] = deque(maxlen=500)

    def _seed_advertisers(self, region: str, count: int) -> None:
        currency, country, tz, first_id = _REGION_ADVERTISER[region]
        for n in range(count):
            advertiser_id = str(first_id + n)
            self.advertisers[region][advertiser_id] = {
                "advertiserId": advertiser_id, "name": f"Fake Advertiser {region} {n + 1}", "currency": currency,
                "url": f"https://advertiser{n + 1}.example.com", "country": country, "timezone": tz,
            }

    # --- clock and ids ------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.time_offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def iso_now(self) -> str:
        return self.now_dt().strftime("%Y-%m-%dT%H:%M:%SZ")

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.time_offset += seconds

    def new_id(self, kind: str) -> str:
        """Ids shaped like Amazon's, distinct per kind, the same on every run with the same seed."""
        n = next(self._ids[kind])
        if kind == "report":
            return hashlib.sha1(f"report:{self.seed}:{n}".encode()).hexdigest()[:8] + f"-fake-report-{n:06d}"
        if kind == "asset":
            return f"amzn1.assetlibrary.asset1.{hashlib.sha1(f'asset:{self.seed}:{n}'.encode()).hexdigest()[:32]}"
        if kind == "upload":
            return hashlib.sha1(f"upload:{self.seed}:{n}".encode()).hexdigest()
        # Numeric strings (JSON numbers in report files), a distinct leading pair per kind.
        prefix = {"campaign": 58, "adGroup": 59, "target": 60, "creative": 61}[kind]
        return f"{prefix}{n:011d}"

    def signature(self, resource: str) -> str:
        return hashlib.sha256(f"fake-s3:{self.seed}:{resource}".encode()).hexdigest()

    # --- lookups ------------------------------------------------------------------------------

    def agency_profile(self, region: str) -> dict | None:
        return next((p for p in self.profiles[region] if p["accountInfo"]["type"] == "agency"), None)

    def profile(self, region: str, profile_id: str | int | None) -> dict | None:
        return next((p for p in self.profiles[region] if str(p["profileId"]) == str(profile_id)), None)

    def advertiser(self, region: str, advertiser_id: str | None) -> dict | None:
        return self.advertisers[region].get(str(advertiser_id)) if advertiser_id else None

    def entity_counts(self) -> dict[str, int]:
        return {
            "campaigns": len(self.campaigns), "adGroups": len(self.ad_groups), "targets": len(self.targets),
            "assets": len(self.assets), "adCreatives": len(self.ad_creatives),
            "associations": len(self.associations), "reports": len(self.reports),
            "advertisers": sum(len(a) for a in self.advertisers.values()),
        }

    # --- request accounting -------------------------------------------------------------------

    def record(self, label: str, status: int, seconds: float, entry: dict, *, generation: int) -> None:
        with self.lock:
            if generation != self.stats_generation:
                return
            stats = self.route_stats.setdefault(label, RouteStats())
            stats.count += 1
            stats.serving_seconds += seconds
            stats.statuses[status] = stats.statuses.get(status, 0) + 1
            self.total_requests += 1
            self.total_serving_seconds += seconds
            self.recent.append(entry)

    def count_fault(self, kind: str) -> None:
        with self.lock:
            self.faults_fired[kind] = self.faults_fired.get(kind, 0) + 1

    def stats_snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "total": self.total_requests,
                "serving_seconds": round(self.total_serving_seconds, 6),
                "injected_delay_seconds": round(self.injected_delay_seconds, 6),
                "presigned_auth_rejected": self.presigned_auth_rejected,
                "by_route": {
                    label: {"count": s.count, "serving_seconds": round(s.serving_seconds, 6),
                            "statuses": {str(k): v for k, v in sorted(s.statuses.items())}}
                    for label, s in sorted(self.route_stats.items())
                },
            }


def encode_page_token(offset: int, query: dict) -> str:
    digest = hashlib.sha1(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": digest}).encode()).decode()


def decode_page_token(token: str | None, query: dict) -> int | None:
    """The offset a token stands for; None when it is malformed or was made for another query."""
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        digest = hashlib.sha1(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:10]
        return int(data["o"]) if data.get("q") == digest else None
    except (ValueError, KeyError, TypeError):
        return None


def public(entity: dict) -> dict:
    """An entity without the fake's bookkeeping keys (those start with an underscore)."""
    return {k: v for k, v in entity.items() if not k.startswith("_")}
