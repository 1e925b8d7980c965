"""Amazon's two pagination styles as generators that fetch the next page only when needed.

- offset: G1 `/dsp/*` GETs, `startIndex` (0-based) + `count` (≤ 100), `{"totalResults", "response"}`
- token:  G2 `/dsp/v1/*/list` POSTs (and G3), body `{"maxResults", "nextToken"}`, answer
          `{"<items>": [...], "nextToken": "..."}`, with no or a null token on the last page
"""

from __future__ import annotations

from typing import Any, Iterator

OFFSET_MAX_COUNT = 100


def iter_offset(
    client,
    path: str,
    *,
    items_key: str = "response",
    count: int = OFFSET_MAX_COUNT,
    params: dict[str, Any] | None = None,
    **request_kwargs,
) -> Iterator[dict]:
    if not 1 <= count <= OFFSET_MAX_COUNT:
        raise ValueError(f"count must be 1..{OFFSET_MAX_COUNT}")
    start = 0
    while True:
        page = client.get(path, params={**(params or {}), "startIndex": start, "count": count}, **request_kwargs)
        items = (page or {}).get(items_key) or []
        yield from items
        start += len(items)
        total = (page or {}).get("totalResults")
        if not items:  # also ends a walk whose total grew while we paged
            return
        if total is not None and start >= int(total):
            return
        if total is None and len(items) < count:
            return


def iter_next_token(
    client,
    path: str,
    *,
    items_key: str,
    body: dict[str, Any] | None = None,
    max_results: int | None = None,
    method: str = "POST",
    token_in: str = "body",
    **request_kwargs,
) -> Iterator[dict]:
    """`token_in="query"` for the GET variants that take `maxResults`/`nextToken` as parameters."""
    next_token: str | None = None
    seen: set[str] = set()
    while True:
        page_args = {}
        if max_results is not None:
            page_args["maxResults"] = max_results
        if next_token:
            page_args["nextToken"] = next_token
        if token_in == "body":
            page = client.request(method, path, json={**(body or {}), **page_args}, **request_kwargs).body
        else:
            page = client.request(method, path, params={**(body or {}), **page_args}, **request_kwargs).body
        yield from (page or {}).get(items_key) or []
        next_token = (page or {}).get("nextToken")
        if not next_token:
            return
        if next_token in seen:  # a server handing back a token twice would loop us forever
            raise RuntimeError(f"{path} returned the nextToken {next_token!r} twice")
        seen.add(next_token)
