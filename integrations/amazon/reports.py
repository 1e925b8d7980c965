"""DSP reports (v3, `/accounts/{accountId}/dsp/reports`): create → poll → download.

Generation takes minutes to hours, so polling backs off (Amazon: "choose longer backoff periods
for report generation"); the file is fetched from a presigned S3 URL without our Authorization
header, which S3 would refuse.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from integrations.amazon.errors import ReportFailed, ReportTimeout

CREATE_REPORT_MEDIA_TYPE = "application/vnd.dspcreatereports.v3+json"
GET_REPORT_MEDIA_TYPE = "application/vnd.dspgetreports.v3+json"


class ReportsMixin:
    """Needs `request()`, `fetch_presigned()`, `report_account_id`/`account_id`, `sleep`, `clock`."""

    def _report_account(self, account_id: str | None) -> str:
        account = account_id or self.report_account_id or self.account_id
        if not account:
            raise ValueError("DSP reports need an account (entity or advertiser id) in the path.")
        return account

    def create_report(self, body: dict, *, account_id: str | None = None) -> dict:
        """Returns Amazon's 202 answer: {reportId, status: IN_PROGRESS, ...}."""
        account = self._report_account(account_id)
        return self.request(
            "POST", f"/accounts/{account}/dsp/reports", json=body, accept=CREATE_REPORT_MEDIA_TYPE,
            content_type="application/json",
        ).body

    def get_report(self, report_id: str, *, account_id: str | None = None) -> dict:
        account = self._report_account(account_id)
        return self.request("GET", f"/accounts/{account}/dsp/reports/{report_id}", accept=GET_REPORT_MEDIA_TYPE).body

    def wait_for_report(
        self,
        report_id: str,
        *,
        account_id: str | None = None,
        poll_interval: float = 15.0,
        max_interval: float = 300.0,
        backoff: float = 1.5,
        max_wait: float = 3 * 3600,  # Amazon: "can take up to three hours"
    ) -> dict:
        """Poll until SUCCESS (returns the report with its `location`) or raise ReportFailed /
        ReportTimeout."""
        deadline = self.clock() + max_wait
        interval = poll_interval
        while True:
            report = self.get_report(report_id, account_id=account_id)
            status = (report or {}).get("status")
            if status == "SUCCESS":
                return report
            if status == "FAILURE":
                raise ReportFailed(
                    f"Report {report_id} failed: {report.get('statusDetails') or 'no details'}",
                    body=report, code="FAILURE", path=f"/dsp/reports/{report_id}",
                )
            if self.clock() + interval > deadline:
                raise ReportTimeout(f"Report {report_id} still {status} after {max_wait:.0f} s", body=report)
            self.sleep(interval)
            interval = min(max_interval, interval * backoff)

    def download_report(self, location: str) -> Any:
        """The report file: parsed JSON (gzip or not), or CSV text."""
        body = self.fetch_presigned(location).body
        if isinstance(body, (bytes, bytearray)):
            data = bytes(body)
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            text = data.decode("utf-8")
            try:
                return json.loads(text)
            except ValueError:
                return text
        return body

    def run_report(self, body: dict, *, account_id: str | None = None, **wait_kwargs) -> Any:
        """create → wait → download, for callers that do not need the steps apart."""
        created = self.create_report(body, account_id=account_id)
        done = self.wait_for_report(created["reportId"], account_id=account_id, **wait_kwargs)
        return self.download_report(done["location"])
