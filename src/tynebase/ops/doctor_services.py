"""Doctor checks of the collaboration server and the AI providers, from the outside: the collab
process's /readyz and the API's AI metrics (runbook 3.2, 3.4). The collaboration and AI areas
may register deeper checks of their own (`tynebase.collab.doctor`, `tynebase.ai.doctor`)."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import httpx

from tynebase.ops.doctor import DoctorContext, Finding, Severity, check

COLLAB = "32-collaboration-websocket-failures"
AI = "34-ai-failures"
AI_FAILURE_WARN, AI_MIN_CALLS = 0.2, 10
# What to do per failure class (the `outcome` label of tynebase_ai_requests_total).
AI_REMEDIES = {
    "invalid_credentials": "The provider refuses the API key: fix it in TYNEBASE_AI_PROVIDERS.",
    "quota_exceeded": "The provider rate-limits or the quota is spent: wait, raise the quota, "
    "or add a fallback provider in TYNEBASE_AI_ROUTES.",
    "model_unavailable": "Check the model name, or the provider's status page.",
    "timeout": "The provider is slow: check its status, or raise its timeout_seconds.",
    "bad_response": "Malformed answers: check the base URL (a proxy?) and the server's API.",
}
_CIRCUIT = re.compile(r'^tynebase_ai_circuit_state\{provider="([^"]+)"\} ([0-9.]+)$', re.M)
_AI_CALLS = re.compile(r"^tynebase_ai_requests_total\{([^}]*)\} ([0-9.e+]+)$", re.M)


def collab_url(ctx: DoctorContext) -> str:
    """Configured, else: in-process under `serve` (the API's address), else its own port."""
    if ctx.collab_url:
        return ctx.collab_url
    if ctx.settings.run_collab_in_process is False:
        return f"http://{ctx.settings.collab_host}:{ctx.settings.collab_port}"
    return ctx.api_url


@check("collab", runbook=COLLAB, needs_database=False)
async def collab_ready(ctx: DoctorContext) -> list[Finding]:
    base = collab_url(ctx).replace("ws://", "http://").replace("wss://", "https://").rstrip("/")
    base = base.removesuffix("/collab")
    try:
        live = await ctx.http.get(f"{base}/livez")
        ready = await ctx.http.get(f"{base}/readyz")
    except httpx.HTTPError as exc:
        return [
            Finding(
                "collab",
                Severity.FAIL,
                f"collaboration server not responding at {base}: {type(exc).__name__}",
                COLLAB,
                "Is `tynebase collab` (or `serve`) running, and does the proxy pass WebSocket "
                "upgrades?",
                {"url": base},
            )
        ]
    body: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        body = ready.json()
    failing = [
        name
        for name, entries in (body.get("checks") or {}).items()
        if any(e.get("status") == "fail" for e in entries)
    ]
    if live.status_code != 200 or ready.status_code != 200:
        return [
            Finding(
                "collab",
                Severity.FAIL,
                f"collaboration server at {base} is not ready ({ready.status_code}): "
                f"{', '.join(failing) or 'see evidence'}",
                COLLAB,
                "Fix the dependency its /readyz names",
                {"status": ready.status_code, "failing": failing},
            )
        ]
    return [Finding("collab", Severity.PASS, f"collaboration server ready at {base}", COLLAB)]


@check("ai", runbook=AI, needs_database=False)
async def ai_providers(ctx: DoctorContext) -> list[Finding]:
    try:
        response = await ctx.http.get(ctx.api_url.rstrip("/") + "/metrics")
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return [Finding("ai", Severity.WARN, f"cannot read the API's metrics: {exc}", AI)]
    circuits = {name: float(value) for name, value in _CIRCUIT.findall(response.text)}
    open_ = sorted(name for name, value in circuits.items() if value >= 2)
    calls: dict[str, dict[str, float]] = {}  # provider -> outcome -> calls
    for labels, value in _AI_CALLS.findall(response.text):
        provider = re.search(r'provider="([^"]*)"', labels)
        outcome = re.search(r'outcome="([^"]*)"', labels)
        if provider is None or outcome is None:
            continue
        outcomes = calls.setdefault(provider.group(1), {})
        outcomes[outcome.group(1)] = outcomes.get(outcome.group(1), 0.0) + float(value)
    failing: dict[str, float] = {}
    causes: dict[str, str] = {}  # provider -> its most frequent failure class
    for name, outcomes in calls.items():
        total = sum(outcomes.values())
        failures = {k: v for k, v in outcomes.items() if k != "success"}
        if failures:
            causes[name] = max(failures, key=failures.__getitem__)
        if total >= AI_MIN_CALLS and sum(failures.values()) / total > AI_FAILURE_WARN:
            failing[name] = round(sum(failures.values()) / total, 3)
    evidence = {"circuits": circuits, "failure_share": failing, "causes": causes}

    def named(providers: list[str]) -> str:
        return ", ".join(
            f"{p} ({causes[p].replace('_', ' ')})" if p in causes else p for p in providers
        )

    def remedy(providers: list[str]) -> str:
        found = {causes[p] for p in providers if p in causes}
        return " ".join(AI_REMEDIES[c] for c in sorted(found) if c in AI_REMEDIES) or (
            "Check the provider's credentials, quota and model name in TYNEBASE_AI_PROVIDERS"
        )

    if open_:
        return [
            Finding(
                "ai",
                Severity.FAIL,
                f"AI provider circuit open: {named(open_)}; calls fail over to the next",
                AI,
                remedy(open_),
                evidence,
            )
        ]
    if failing:
        return [
            Finding(
                "ai",
                Severity.WARN,
                "AI provider failures: "
                + ", ".join(f"{named([name])} {share:.0%}" for name, share in failing.items()),
                AI,
                remedy(list(failing)),
                evidence,
            )
        ]
    return [Finding("ai", Severity.PASS, f"{len(circuits)} AI provider(s), none failing", AI)]
