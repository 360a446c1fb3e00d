"""Alert rules and dashboard (OPS-3): promtool accepts the rules and their unit tests pass (and
fail when a threshold drifts); every metric they use is one TyneBase exports; every alert links
to a runbook section that exists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "tynebase.json"
RUNBOOK = ROOT / "docs" / "RUNBOOK.md"
METRIC = re.compile(r"\b(tynebase_[a-z0-9_]+|node_[a-z0-9_]+|up)\b")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is missing: install the Debian package `prometheus` "
            "(apt-get install -y prometheus; .ci/run does it)"
        )
    return path


def run_promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_promtool_checks_and_unit_tests_pass() -> None:
    checked = run_promtool("check", "rules", str(RULES), cwd=ROOT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run_promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_unit_tests_catch_a_drifted_threshold(tmp_path: Path) -> None:
    """The unit tests are not vacuous: raising the 1% error threshold to 10% fails them."""
    text = RULES.read_text()
    drifted = text.replace(
        "tynebase:http_errors:ratio_rate5m > 0.01", "tynebase:http_errors:ratio_rate5m > 0.1"
    )
    assert drifted != text
    (tmp_path / "alerts.yml").write_text(drifted)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    tested = run_promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert tested.returncode != 0
    assert "TynebaseErrorRateHigh" in tested.stdout + tested.stderr


def _anchors() -> set[str]:
    anchors = set()
    for line in RUNBOOK.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 -]", "", title).replace(" ", "-"))
    return anchors


def test_every_alert_has_a_severity_and_a_runbook_section() -> None:
    anchors = _anchors()
    alerts = [rule for rule in rules() if "alert" in rule]
    assert len(alerts) >= 10
    for rule in alerts:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        url = rule["annotations"]["runbook_url"]
        path, _, anchor = url.partition("#")
        assert path == "docs/RUNBOOK.md", url
        assert anchor in anchors, f"{rule['alert']}: no runbook heading for #{anchor}"
    thresholds = {rule["alert"]: rule["expr"] for rule in alerts}
    assert thresholds["TynebaseLatencyP95High"].endswith("> 0.5")
    assert thresholds["TynebaseLatencyP95Critical"].endswith("> 1")
    assert thresholds["TynebaseErrorRateHigh"].endswith("> 0.01")
    assert thresholds["TynebaseErrorRateCritical"].endswith("> 0.05")


def _exported_families(client: TestClient) -> set[str]:
    client.get("/health")
    text = client.get("/metrics").text
    families = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    # Collectors of other processes (collab server, AI providers) register their families there.
    for source in (ROOT / "src" / "tynebase").rglob("metrics.py"):
        families |= set(re.findall(r'"(tynebase_[a-z0-9_]+)"', source.read_text()))
    return families


def _family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_metrics_in_rules_and_dashboard_are_exported(client: TestClient) -> None:
    families = _exported_families(client)
    assert "tynebase_http_request_duration_seconds" in families
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    expressions = [rule["expr"] for rule in rules()]
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        expressions += [target["expr"] for target in panel["targets"]]
    unknown = set()
    for expr in expressions:
        expr = re.sub(r"tynebase:[a-z0-9_:]+", "", expr)  # recording rules, checked below
        for name in METRIC.findall(expr):
            if (
                name.startswith("tynebase_")
                and name not in families
                and _family(name) not in families
            ):
                unknown.add(name)
    assert not unknown, f"metrics that TyneBase does not export: {sorted(unknown)}"
    used_records = set()
    for expr in expressions:
        used_records |= set(re.findall(r"tynebase:[a-z0-9_:]+", expr))
    assert used_records <= recorded, used_records - recorded
