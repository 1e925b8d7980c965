"""Third-party Kargo creatives are checked before anything is stored."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from creatives.kargo.choices import TagType
from creatives.kargo.models import KargoCreative
from creatives.kargo.services import kargo_creative_create
from creatives.kargo.validation import html_problems, validate_creative, vast_problems
from tests.kargo.factories import ANCHOR_TAG, VAST_XML, KargoDealFactory, kargo_format

pytestmark = pytest.mark.django_db


def _errors(**kw):
    args = {"format": kargo_format("Anchor"), "tag_type": TagType.HTML, "tag": ANCHOR_TAG, "width": 320, "height": 50}
    return validate_creative(**{**args, **kw})


def test_a_well_formed_https_anchor_snippet_passes():
    assert _errors() == {}


def test_the_size_must_match_the_format():
    assert "Anchor runs at 320×50" in _errors(width=300, height=250)["width"][0]


def test_unbalanced_html_is_refused():
    assert any("not well-formed" in m for m in _errors(tag="<div><span>Kargo</div>")["tag"])
    assert any("never closed" in m for m in _errors(tag="<div><script src='https://k.kargo.com/a.js'>")["tag"])


def test_text_without_html_is_refused():
    assert _errors(tag="just some words")["tag"] == ["The tag is not well-formed HTML: The tag holds no HTML element."]


@pytest.mark.parametrize("tag", [
    '<div><script src="http://cdn.kargo.com/a.js"></script></div>',
    "<div><img src='HTTP://px.example.com/1.gif'></div>",
    '<div><script>var u = "http://x.example.com/p";</script></div>',
])
def test_any_http_resource_is_refused(tag):
    assert any("over http:" in m for m in _errors(tag=tag)["tag"])


@pytest.mark.parametrize("url, message", [
    ("http://ads.kargo.com/vast.xml", "must use https"),
    ("https://localhost/vast.xml", "public host name"),
    ("https://ads.kargo.com/va st.xml", "contains spaces"),
    ("https://user:pw@ads.kargo.com/v.xml", "credentials"),
    ("ftp://ads.kargo.com/v.xml", "must use https"),
])
def test_a_vast_url_must_look_reachable_over_https(url, message):
    errors = validate_creative(format=kargo_format("VAST Viewstream"), tag_type=TagType.VAST_URL, vast_url=url)
    assert message in errors["vast_url"][0]


def test_inline_vast_must_parse_and_have_a_media_file():
    no_media = VAST_XML.replace('<MediaFiles><MediaFile delivery="progressive" type="video/mp4" width="640" '
                                'height="360">https://cdn.kargo.com/v/1.mp4</MediaFile></MediaFiles>', "")
    assert vast_problems(VAST_XML) == []
    assert vast_problems(no_media) == ["The inline VAST has no <MediaFile>."]
    assert "does not parse" in vast_problems("<VAST version='3.0'><Ad>")[0]
    assert "not <VAST>" in vast_problems("<html></html>")[0]


def test_entity_expansion_is_refused_not_expanded():
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            '<VAST version="3.0"><Ad><InLine><MediaFile>&lol2;</MediaFile></InLine></Ad></VAST>')
    assert "does not parse safely" in vast_problems(bomb)[0]


def test_external_entities_are_refused():
    xxe = ('<?xml version="1.0"?><!DOCTYPE v [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<VAST version="3.0"><Ad><InLine><MediaFile>&x;</MediaFile></InLine></Ad></VAST>')
    assert "does not parse safely" in vast_problems(xxe)[0]


def test_trackers_must_be_https_and_at_most_five_clicks():
    errors = _errors(click_trackers=[f"https://px.kargo.com/c{n}" for n in range(6)],
                     impression_trackers=["http://px.kargo.com/i"])
    assert errors["click_trackers"] == ["At most 5 trackers."]
    assert "must use https" in errors["impression_trackers"][0]


def test_a_display_format_takes_no_vast_and_a_vast_format_no_html():
    assert "display format" in validate_creative(format=kargo_format("Venti"), tag_type=TagType.VAST_URL,
                                                 vast_url="https://ads.kargo.com/v.xml")["tag_type"][0]
    assert "VAST format" in validate_creative(format=kargo_format("Video Anchor"), tag_type=TagType.HTML,
                                              tag=ANCHOR_TAG)["tag_type"][0]


def test_the_service_stores_nothing_when_refused(advertiser, other_advertiser):
    deal = KargoDealFactory(offered_to=[other_advertiser])
    with pytest.raises(ValidationError) as refused:
        kargo_creative_create(advertiser=advertiser, name="x", format=kargo_format("Anchor"), deal=deal,
                              tag_type=TagType.HTML, tag=ANCHOR_TAG)
    assert "not offered" in refused.value.message_dict["deal"][0]
    assert not KargoCreative.objects.exists()


def test_a_deal_that_does_not_carry_the_format_is_refused(advertiser):
    deal = KargoDealFactory(offered_to=[advertiser], carries=["Venti"])
    with pytest.raises(ValidationError) as refused:
        kargo_creative_create(advertiser=advertiser, name="x", format=kargo_format("Anchor"), deal=deal,
                              tag_type=TagType.HTML, tag=ANCHOR_TAG)
    assert "does not carry the Anchor format" in refused.value.message_dict["format"][0]


@given(st.text(max_size=300))
def test_html_checks_never_crash_on_any_text(text):
    assert isinstance(html_problems(text), list)


@given(st.text(max_size=300))
def test_vast_checks_never_crash_on_any_text(text):
    assert isinstance(vast_problems(text), list)
