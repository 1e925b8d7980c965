"""Seeded, deterministic fault injection for the fake DSP.

A rule, as JSON (all keys optional but one action):

    {"route": "POST /dsp/v1/adGroups*",  # fnmatch on "METHOD /path" or "/path" (no region prefix); default "*"
     "rate": 0.1,                         # probability per matching request; default 1
     "times": 3,                          # fire at most this many times; default unlimited
     "status": 429 | [500, 502, 503, 504],  # answer this status (one picked when a list)
     "retry_after": 2,                    # with 429/503: the Retry-After value in seconds
     "retry_after_rate": 0.5,             # ...sent on this share of the answers (default 1)
     "delay": 1.5,                        # sleep first (a slow answer; past the client's timeout: a timeout)
     "drop": true,                        # close the connection without answering
     "partial": 0.2,                      # batch writes: this share of the items fail, retryably
     "phase": "before" | "after",         # "after": the request takes effect, then the fault hides the answer
     "bucket": {"rate": 5, "burst": 10}}  # token bucket per client id and rule: 429 when empty

The first rule that fires decides. Each rule draws from its own random.Random(f"{seed}:{index}"),
so a given sequence of requests meets the same faults on every run with the same seed.
"""

from __future__ import annotations

import fnmatch
import math
import random
import threading
from dataclasses import dataclass, field
from typing import Any

_ACTIONS = ("status", "delay", "drop", "partial", "bucket")


class FaultConfigError(ValueError):
    pass


@dataclass
class FaultRule:
    route: str = "*"
    rate: float = 1.0
    times: int | None = None
    status: int | list[int] | None = None
    retry_after: float | None = None
    retry_after_rate: float = 1.0
    delay: float = 0.0
    drop: bool = False
    partial: float = 0.0
    phase: str = "before"
    bucket: dict | None = None
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    _tokens: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, seed: int, index: int) -> "FaultRule":
        unknown = set(data) - {"route", "rate", "times", "status", "retry_after", "retry_after_rate", "delay", "drop",
                               "partial", "phase", "bucket"}
        if unknown:
            raise FaultConfigError(f"Unknown fault keys: {', '.join(sorted(unknown))}")
        if not any(data.get(key) for key in _ACTIONS):
            raise FaultConfigError("A fault rule needs one of: status, delay, drop, partial, bucket")
        rule = cls(**{k: v for k, v in data.items()})
        if not 0 <= float(rule.rate) <= 1 or not 0 <= float(rule.partial) <= 1:
            raise FaultConfigError("rate and partial are probabilities in [0, 1]")
        if rule.phase not in ("before", "after"):
            raise FaultConfigError("phase is 'before' or 'after'")
        statuses = rule.status if isinstance(rule.status, list) else [rule.status] if rule.status else []
        if any(not isinstance(s, int) or not 400 <= s <= 599 for s in statuses):
            raise FaultConfigError("status must be an HTTP error status (400-599) or a list of them")
        bucket = rule.bucket
        if bucket is not None and not (float(bucket.get("rate", 0)) > 0 and int(bucket.get("burst", 0)) >= 1):
            raise FaultConfigError("bucket needs rate > 0 and burst >= 1")
        rule.rng = random.Random(f"{seed}:{index}")
        return rule

    def as_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in ("route", "rate", "times", "status", "retry_after", "retry_after_rate",
                                              "delay", "drop", "partial", "phase", "bucket")}
        data["fired"] = self.fired
        return data

    def matches(self, method: str, path: str) -> bool:
        pattern = self.route
        if pattern.startswith("/"):
            return fnmatch.fnmatchcase(path, pattern)
        return fnmatch.fnmatchcase(f"{method} {path}", pattern)


@dataclass
class Fault:
    """What happens to one request."""

    rule_index: int
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    drop: bool = False
    partial: float = 0.0
    phase: str = "before"
    partial_rng: random.Random | None = None

    @property
    def kind(self) -> str:
        if self.drop:
            return "drop"
        if self.status:
            return f"status_{self.status}" + ("_retry_after" if self.retry_after is not None else "")
        if self.partial:
            return "partial"
        return "delay"


class FaultInjector:
    def __init__(self, seed: int = 0):
        self._lock = threading.Lock()
        self.seed = seed
        self.rules: list[FaultRule] = []

    def configure(self, rules: list[dict], *, seed: int | None = None, append: bool = False) -> None:
        with self._lock:
            if seed is not None:
                self.seed = int(seed)
            start = len(self.rules) if append else 0
            parsed = [FaultRule.from_dict(r, seed=self.seed, index=start + i) for i, r in enumerate(rules)]
            self.rules = (self.rules + parsed) if append else parsed

    def clear(self) -> None:
        with self._lock:
            self.rules = []

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self.seed, "rules": [r.as_dict() for r in self.rules]}

    def decide(self, method: str, path: str, *, client_key: str, now: float) -> Fault | None:
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule.matches(method, path):
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if rule.bucket is not None:
                    fault = self._bucket(rule, index, client_key, now)
                    if fault is None:
                        continue
                    rule.fired += 1
                    return fault
                if rule.rng.random() >= rule.rate:
                    continue
                rule.fired += 1
                return self._fault_from(rule, index)
        return None

    def _fault_from(self, rule: FaultRule, index: int) -> Fault:
        fault = Fault(rule_index=index, delay=float(rule.delay or 0), drop=bool(rule.drop),
                      partial=float(rule.partial or 0), phase=rule.phase)
        if rule.status:
            statuses = rule.status if isinstance(rule.status, list) else [rule.status]
            fault.status = statuses[rule.rng.randrange(len(statuses))] if len(statuses) > 1 else statuses[0]
            if rule.retry_after is not None and fault.status in (429, 503):
                if rule.rng.random() < rule.retry_after_rate:
                    fault.retry_after = float(rule.retry_after)
        if fault.partial:
            fault.partial_rng = random.Random(rule.rng.random())
        return fault

    def _bucket(self, rule: FaultRule, index: int, client_key: str, now: float) -> Fault | None:
        rate, burst = float(rule.bucket["rate"]), int(rule.bucket["burst"])
        tokens, last = rule._tokens.get(client_key, (float(burst), now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens >= 1:
            rule._tokens[client_key] = (tokens - 1, now)
            return None
        rule._tokens[client_key] = (tokens, now)
        fault = Fault(rule_index=index, status=429)
        if rule.rng.random() < rule.retry_after_rate:
            fault.retry_after = float(max(1, math.ceil((1 - tokens) / rate)))
        return fault
