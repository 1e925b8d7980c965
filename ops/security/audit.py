#!/usr/bin/env python3
"""CI security audits with a documented ignore list (ops/security-exceptions.md).

    python ops/security/audit.py bandit      # our code; fails on any finding not in the list
    python ops/security/audit.py pip-audit   # the pinned requirements; fails on unlisted vulns,
                                             # reports (and passes) when the service is unreachable

Exit codes: 0 clean (or only documented findings, or audit service unreachable), 1 findings.
"""

import fnmatch
import json
import re
import subprocess  # nosec B404
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXCEPTIONS = ROOT / "ops" / "security-exceptions.md"
BIN = Path(sys.executable).parent
# Our code: every top-level package but tests, benchmarks and the virtualenv.
BANDIT_EXCLUDE = ["tests", "bench", ".venv", "var", "artifacts", "media", "staticfiles", "node_modules"]


def exceptions(tool: str) -> list[tuple[set[str], list[str]]]:
    rows = []
    for line in EXCEPTIONS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] == tool:
            ids = {i.strip() for i in cells[1].split(",") if i.strip()}
            where = [w.strip().strip("`") for w in cells[2].split(",") if w.strip()]
            rows.append((ids, where))
    return rows


def explained(rows, test_id: str, where: str) -> bool:
    return any(test_id in ids and any(fnmatch.fnmatch(where, pattern) for pattern in places) for ids, places in rows)


def run_bandit() -> int:
    excluded = ",".join(str(ROOT / name) for name in BANDIT_EXCLUDE) + f",{ROOT / 'conftest.py'}"
    command = [str(BIN / "bandit"), "-r", str(ROOT), "-x", excluded, "-f", "json", "-q"]
    result = subprocess.run(command, capture_output=True, text=True)  # nosec B603
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        print(f"bandit did not run: {result.stderr.strip() or result.stdout[:500]}")
        return 1
    rows = exceptions("bandit")
    unexplained, accepted = [], 0
    for issue in report["results"]:
        where = str(Path(issue["filename"]).resolve().relative_to(ROOT))
        if explained(rows, issue["test_id"], where):
            accepted += 1
        else:
            unexplained.append(f"{where}:{issue['line_number']} {issue['test_id']} "
                               f"{issue['issue_severity']}/{issue['issue_confidence']} {issue['issue_text']}")
    files = len(report.get("metrics", {})) - 1
    print(f"bandit: {files} files, {accepted} documented finding(s) accepted, {len(unexplained)} unexplained")
    for line in unexplained:
        print(f"  {line}")
    if unexplained:
        print("Fix them, mark our own line with `# nosec BXXX` and a reason, or document them in "
              "ops/security-exceptions.md.")
    return 1 if unexplained else 0


def run_pip_audit() -> int:
    # Both files by name: with --disable-pip the dev file's own "-r requirements.txt" is not followed.
    command = [str(BIN / "pip-audit"), "-r", str(ROOT / "requirements.txt"), "-r", str(ROOT / "requirements-dev.txt"),
               "--no-deps", "--disable-pip", "--progress-spinner", "off", "-f", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)  # nosec B603
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit: the vulnerability service could not be reached ({reason}); NOT AUDITED, not failing.")
        return 0
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    if deps and len(skipped) == len(deps):
        print(f"pip-audit: the vulnerability service answered for none of the {len(deps)} pinned packages "
              f"(e.g. {skipped[0]['skip_reason']!r}); NOT AUDITED, not failing.")
        return 0
    rows = exceptions("pip-audit")
    unexplained = []
    for dep in deps:
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            if not any(ids & row_ids and (dep["name"] in places or "*" in places) for row_ids, places in rows):
                fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
                unexplained.append(f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    audited = len(deps) - len(skipped)
    print(f"pip-audit: {audited} pinned package(s) audited, {len(skipped)} skipped, {len(unexplained)} vulnerable")
    for line in unexplained + [f"  skipped: {d['name']}: {d['skip_reason']}" for d in skipped]:
        print(f"  {line}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    tools = {"bandit": run_bandit, "pip-audit": run_pip_audit}
    if len(sys.argv) != 2 or sys.argv[1] not in tools:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(tools)}")
    sys.exit(tools[sys.argv[1]]())
