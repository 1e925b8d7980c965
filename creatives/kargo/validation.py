"""Checks for third-party Kargo creatives, before anything is stored: the size matches the
format, the tag is well-formed HTML or a reachable-looking https URL, nothing loads over `http:`,
inline VAST parses (safely: no DTDs, no entity expansion) and has a media file, trackers are
https and within Amazon's limits (reference §2.5: ≤5 click trackers, ≤2,000 characters each).

`validate_creative` returns {field: [messages]} (empty when valid), the API's error shape.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from creatives.kargo.choices import TagType

try:  # defusedxml refuses DTDs, entity expansion and external references outright
    from defusedxml import ElementTree as SafeET
    from defusedxml.common import DefusedXmlException
except ImportError:  # pragma: no cover - the stdlib fallback below refuses DOCTYPEs itself
    SafeET = None
    DefusedXmlException = ValueError
import xml.etree.ElementTree as StdET

TAG_MAX_CHARS = 65_536
VAST_MAX_CHARS = 262_144
URL_MAX_CHARS = 2000
MAX_CLICK_TRACKERS = 5
MAX_IMPRESSION_TRACKERS = 5
_INSECURE = re.compile(r"(?i)(?<![a-z0-9+.-])http:")
_HOST = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$", re.IGNORECASE)
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                 "track", "wbr"}


def https_url_problem(url: str, *, what: str = "The URL") -> str | None:
    """Why `url` is not a reachable-looking https URL, or None."""
    if not isinstance(url, str) or not url.strip():
        return f"{what} is empty."
    if len(url) > URL_MAX_CHARS:
        return f"{what} is longer than {URL_MAX_CHARS:,} characters."
    if any(ch.isspace() for ch in url):
        return f"{what} contains spaces."
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        return f"{what} must use https."
    host = parts.hostname or ""
    if parts.username or parts.password:
        return f"{what} must not carry credentials."
    if not _HOST.match(host) or host.endswith((".local", ".localhost")) or host == "localhost":
        return f"{what} needs a public host name (got {host or 'none'})."
    return None


class _Balance(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.elements = 0

    def handle_starttag(self, tag, attrs):
        self.elements += 1
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.elements += 1

    def handle_endtag(self, tag):
        if tag in VOID_ELEMENTS:
            return
        if not self.stack or tag not in self.stack:
            self.problems.append(f"</{tag}> closes nothing.")
            return
        while self.stack:
            opened = self.stack.pop()
            if opened == tag:
                break
            self.problems.append(f"<{opened}> is not closed before </{tag}>.")


def html_problems(tag: str) -> list[str]:
    if not tag.strip():
        return ["The tag is empty."]
    if len(tag) > TAG_MAX_CHARS:
        return [f"The tag is longer than {TAG_MAX_CHARS:,} characters."]
    parser = _Balance()
    try:
        parser.feed(tag)
        parser.close()
    except Exception as exc:  # HTMLParser is lenient; anything it raises is malformed input
        return [f"The tag is not well-formed HTML ({exc})."]
    problems = list(parser.problems)
    problems += [f"<{name}> is never closed." for name in parser.stack]
    if not parser.elements:
        problems.append("The tag holds no HTML element.")
    return [f"The tag is not well-formed HTML: {p}" for p in problems[:5]]


def insecure_problem(text: str, what: str) -> str | None:
    match = _INSECURE.search(text or "")
    if match:
        snippet = text[match.start():match.start() + 60].split()[0]
        return f"{what} loads a resource over http: ({snippet}); every resource must use https."
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(text: str):
    """Parse untrusted XML: defusedxml when installed, else the stdlib parser with any DOCTYPE
    (the door to entity expansion) refused before parsing."""
    if SafeET is not None:
        return SafeET.fromstring(text, forbid_dtd=True)
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):  # pragma: no cover
        raise ValueError("DTDs and entities are not allowed.")
    return StdET.fromstring(text)  # pragma: no cover


def vast_problems(xml: str) -> list[str]:
    if not xml.strip():
        return ["The VAST document is empty."]
    if len(xml) > VAST_MAX_CHARS:
        return [f"The VAST document is longer than {VAST_MAX_CHARS:,} characters."]
    try:
        root = parse_xml(xml.strip())
    except (DefusedXmlException, StdET.ParseError, ValueError) as exc:
        return [f"The VAST XML does not parse safely: {exc}"]
    if _local(root.tag) != "VAST":
        return [f"The document's root is <{_local(root.tag)}>, not <VAST>."]
    if root.get("version", "")[:1] not in ("2", "3", "4"):
        return ["The VAST version must be 2, 3 or 4."]
    elements = list(root.iter())
    inline = [e for e in elements if _local(e.tag) == "InLine"]
    wrappers = [e for e in elements if _local(e.tag) == "Wrapper"]
    if not inline and not wrappers:
        return ["The VAST document has no <Ad> with <InLine> or <Wrapper>."]
    problems = []
    if inline:
        media = [e for e in elements if _local(e.tag) == "MediaFile" and (e.text or "").strip()]
        if not media:
            problems.append("The inline VAST has no <MediaFile>.")
        for m in media:
            problem = https_url_problem(m.text.strip(), what="A <MediaFile> URL")
            if problem:
                problems.append(problem)
                break
    for wrapper in wrappers:
        uri = next((e for e in wrapper.iter() if _local(e.tag) == "VASTAdTagURI"), None)
        text = (uri.text or "").strip() if uri is not None else ""
        problem = https_url_problem(text, what="The wrapper's VASTAdTagURI")
        if problem:
            problems.append(problem)
    insecure = insecure_problem(xml, "The VAST document")
    if insecure:
        problems.append(insecure)
    return problems


def _trackers(urls, field: str, limit: int, errors: dict) -> None:
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        errors.setdefault(field, []).append("A list of URLs.")
        return
    if len(urls) > limit:
        errors.setdefault(field, []).append(f"At most {limit} trackers.")
    for url in urls:
        problem = https_url_problem(url, what=f"Tracker {url[:80]}")
        if problem:
            errors.setdefault(field, []).append(problem)


def validate_creative(*, format, tag_type: str, tag: str = "", vast_url: str = "", vast_xml: str = "",
                      width: int | None = None, height: int | None = None, click_through_url: str = "",
                      click_trackers=(), impression_trackers=()) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    given = {TagType.HTML: tag, TagType.VAST_URL: vast_url, TagType.VAST_XML: vast_xml}
    if tag_type not in given:
        add("tag_type", f"One of {', '.join(TagType.values)}.")
        return errors
    for other, value in given.items():
        if other != tag_type and (value or "").strip():
            add({"html": "tag"}.get(other, other), f"Give only the {TagType(tag_type).label}.")
    if format is not None:
        if not format.is_active:
            add("format", f"The {format} format is not active.")
        if format.is_vast and tag_type == TagType.HTML:
            add("tag_type", f"{format} is a VAST format: give a VAST URL or inline VAST.")
        if not format.is_vast and tag_type != TagType.HTML:
            add("tag_type", f"{format} is a display format: give its HTML/JS snippet.")
        if tag_type == TagType.HTML and format.width and (width, height) != (format.width, format.height):
            size = f"{width}×{height}" if width and height else "no size"
            add("width", f"The creative is {size}; {format} runs at {format.width}×{format.height} in the DSP.")
    if tag_type == TagType.HTML:
        for problem in html_problems(tag or ""):
            add("tag", problem)
        insecure = insecure_problem(tag or "", "The tag")
        if insecure:
            add("tag", insecure)
    elif tag_type == TagType.VAST_URL:
        problem = https_url_problem(vast_url, what="The VAST URL")
        if problem:
            add("vast_url", problem)
    else:
        for problem in vast_problems(vast_xml or ""):
            add("vast_xml", problem)
    if click_through_url:
        problem = https_url_problem(click_through_url, what="The click-through URL")
        if problem:
            add("click_through_url", problem)
    _trackers(list(click_trackers or []), "click_trackers", MAX_CLICK_TRACKERS, errors)
    _trackers(list(impression_trackers or []), "impression_trackers", MAX_IMPRESSION_TRACKERS, errors)
    return errors


def validate_deal_id(value: str) -> None:
    """A deal's id, on the model: the DSP matches deal ids exactly, and a space never is one."""
    if any(ch.isspace() for ch in value):
        raise ValidationError("A deal id has no spaces.")


def validate_currency_code(value: str) -> None:
    """A deal's currency, on the model: an ISO 4217 code (the floor is compared with the
    advertiser's currency before a push)."""
    if not (len(value) == 3 and value.isascii() and value.isalpha()):
        raise ValidationError(f"{value!r} is not a currency code (three letters, such as USD).")
