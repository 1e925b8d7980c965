"""DSP reports: create → poll → download from the presigned URL without Authorization."""

from datetime import datetime, timedelta, timezone

import pytest
import requests

from integrations.amazon.errors import MediaTypeError, NotFound, ReportFailed, ReportTimeout, ValidationError
from tests.integrations.payloads import ad_group_payload


@pytest.fixture
def delivering(amazon, campaign_id):
    """Two active ad groups: the fake reports delivery for ACTIVE ad groups only."""
    ids = list(amazon.create_ad_groups([ad_group_payload(campaign_id, name=f"AG {n}") for n in range(2)])
               .ids("adGroupId").values())
    amazon.update_ad_groups([{"adGroupId": i, "state": "ACTIVE"} for i in ids])
    return ids


def _body(fake_dsp, days=3, **extra):
    today = fake_dsp.app.state.now_dt().date()
    return {"startDate": str(today - timedelta(days=days - 1)), "endDate": str(today), "type": "CAMPAIGN",
            "dimensions": ["ORDER", "LINE_ITEM"], "timeUnit": "DAILY", **extra}


def test_a_report_is_created_polled_and_downloaded_without_authorization(fake_dsp, amazon, clock, delivering):
    fake_dsp.configure(report_polls=2)
    created = amazon.create_report(_body(fake_dsp))
    assert created["status"] == "IN_PROGRESS"
    done = amazon.wait_for_report(created["reportId"], poll_interval=30)
    assert done["status"] == "SUCCESS" and done["location"]
    assert clock.sleeps == [30.0, 45.0]  # polling backs off
    rows = amazon.download_report(done["location"])
    assert len(rows) == 2 * 3  # two ad groups, three days
    assert {r["lineItemId"] for r in rows} == {int(i) for i in delivering}
    assert all(isinstance(r["date"], int) for r in rows)  # epoch milliseconds
    download = [r for r in fake_dsp.recent_requests() if r["path"].startswith("/_s3/reports/")]
    assert download and download[-1]["authorization"] is False
    assert fake_dsp.snapshot()["requests"]["presigned_auth_rejected"] == 0


def test_the_report_calls_use_the_vendor_media_types_and_no_scope(fake_dsp, amazon, delivering):
    amazon.run_report(_body(fake_dsp), poll_interval=1)
    served = [r for r in fake_dsp.recent_requests() if "/dsp/reports" in r["path"]]
    assert served and all(r["scope"] is None and r["account"] is None for r in served)


def test_the_fake_refuses_a_download_that_carries_an_authorization_header(fake_dsp, amazon, delivering):
    done = amazon.wait_for_report(amazon.create_report(_body(fake_dsp))["reportId"], poll_interval=1)
    refused = requests.get(done["location"], headers={"Authorization": "Bearer Atza|whatever"}, timeout=5)
    assert refused.status_code == 400
    assert "Only one auth mechanism allowed" in refused.text
    assert fake_dsp.snapshot()["requests"]["presigned_auth_rejected"] == 1


def test_a_tampered_or_expired_download_url_is_refused(fake_dsp, amazon, delivering):
    done = amazon.wait_for_report(amazon.create_report(_body(fake_dsp))["reportId"], poll_interval=1)
    assert requests.get(done["location"].replace("Signature=", "Signature=0"), timeout=5).status_code == 403
    fake_dsp.advance_time(3601)
    assert requests.get(done["location"], timeout=5).status_code == 403


def test_re_pulling_a_report_gives_the_same_numbers(fake_dsp, amazon, delivering):
    first = amazon.run_report(_body(fake_dsp), poll_interval=1)
    second = amazon.run_report(_body(fake_dsp), poll_interval=1)
    assert first == second


def test_a_summary_report_by_order_adds_up_the_ad_groups(fake_dsp, amazon, delivering):
    daily = amazon.run_report(_body(fake_dsp), poll_interval=1)
    summary = amazon.run_report(_body(fake_dsp, dimensions=["ORDER"], timeUnit="SUMMARY"), poll_interval=1)
    assert len(summary) == 1
    assert summary[0]["impressions"] == sum(r["impressions"] for r in daily)
    assert summary[0]["totalCost"] == pytest.approx(sum(r["totalCost"] for r in daily), abs=0.01)


def test_a_csv_report_downloads_as_text(fake_dsp, amazon, delivering):
    text = amazon.run_report(_body(fake_dsp, format="CSV"), poll_interval=1)
    header, *rows = text.strip().splitlines()
    assert "impressions" in header.split(",") and "lineItemId" in header.split(",")
    assert len(rows) == 6


def test_a_failed_report_raises_report_failed(fake_dsp, amazon):
    fake_dsp.configure(report_outcome="FAILURE")
    with pytest.raises(ReportFailed):
        amazon.run_report(_body(fake_dsp), poll_interval=1)


def test_a_report_still_running_past_the_budget_raises_report_timeout(fake_dsp, amazon, clock):
    fake_dsp.configure(report_polls=1000)
    report_id = amazon.create_report(_body(fake_dsp))["reportId"]
    with pytest.raises(ReportTimeout):
        amazon.wait_for_report(report_id, poll_interval=60, max_interval=60, max_wait=300)
    assert sum(clock.sleeps) <= 300


@pytest.mark.parametrize("change,field", [
    ({"startDate": "2000-01-01", "endDate": "2000-01-02"}, "startDate"),  # beyond the 90-day lookback
    ({"timeUnit": "HOURLY"}, "timeUnit"),
    ({"metrics": ["notAMetric"]}, "metrics"),
])
def test_invalid_report_requests_are_validation_errors(fake_dsp, amazon, change, field):
    with pytest.raises(ValidationError) as caught:
        amazon.create_report({**_body(fake_dsp), **change})
    assert caught.value.body["errors"][0]["field"] == field


def test_a_range_longer_than_31_days_is_refused(fake_dsp, amazon):
    with pytest.raises(ValidationError, match="31 days"):
        amazon.create_report(_body(fake_dsp, days=32))


def test_a_report_call_without_the_vendor_accept_header_is_refused(fake_dsp, amazon):
    account = fake_dsp.advertiser_ids()[0]
    with pytest.raises(MediaTypeError) as caught:
        amazon.request("POST", f"/accounts/{account}/dsp/reports", json=_body(fake_dsp))
    assert caught.value.status == 415


def test_an_entity_account_reports_on_its_advertisers(fake_dsp, amazon, delivering):
    rows = amazon.run_report(_body(fake_dsp), account_id=fake_dsp.entity_id("NA"), poll_interval=1)
    assert {r["advertiserId"] for r in rows} == {int(fake_dsp.advertiser_ids()[0])}


def test_another_accounts_report_is_not_found(fake_dsp, amazon):
    report_id = amazon.create_report(_body(fake_dsp))["reportId"]
    with pytest.raises(NotFound):
        amazon.get_report(report_id, account_id=fake_dsp.advertiser_ids()[1])


def test_nothing_is_reported_for_days_still_to_come(fake_dsp, amazon, delivering):
    today = fake_dsp.app.state.now_dt().date()
    body = _body(fake_dsp, startDate=str(today), endDate=str(today + timedelta(days=5)))
    rows = amazon.run_report(body, poll_interval=1)
    midnight = datetime(today.year, today.month, today.day, tzinfo=timezone.utc)
    assert {r["date"] for r in rows} == {int(midnight.timestamp() * 1000)}
