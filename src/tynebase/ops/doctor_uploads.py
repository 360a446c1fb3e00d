"""Doctor checks: uploads (storage, quotas, limits) and the API's error rate (runbook 3.6, 3.7)."""

from __future__ import annotations

import re
import uuid

from tynebase.files.service import quota_for
from tynebase.files.storage import build_blob_store, tenant_key
from tynebase.ops.doctor import DoctorContext, Finding, Severity, check

UPLOADS = "36-upload-failures"
ERRORS = "37-high-error-rate"
QUOTA_WARN = 0.9
ERROR_RATE_WARN, ERROR_RATE_FAIL = 0.01, 0.05
MIN_REQUESTS = 20
# A tenant id no workspace can have: the probe never touches real data.
PROBE_TENANT = uuid.UUID(int=0)
_SAMPLE = re.compile(r"^tynebase_http_requests_total\{([^}]*)\} ([0-9.e+]+)$", re.M)


@check("uploads.storage", runbook=UPLOADS, needs_database=False)
async def storage_writable(ctx: DoctorContext) -> list[Finding]:
    where = ctx.settings.storage_url or str(ctx.settings.data_dir / "blobs")
    key = tenant_key(PROBE_TENANT, "doctor", uuid.uuid4().hex)
    try:
        store = build_blob_store(ctx.settings)
        await store.put_bytes(key, b"tynebase doctor probe\n")
        await store.delete(key)
    except Exception as exc:  # any failure to write is the finding
        return [
            Finding(
                "uploads.storage",
                Severity.FAIL,
                f"storage not writable at {where}: {type(exc).__name__}: {str(exc)[:200]}",
                UPLOADS,
                "Check the directory's owner, permissions and free space (or the S3 "
                "credentials and bucket policy)",
                {"storage": where},
            )
        ]
    return [Finding("uploads.storage", Severity.PASS, f"storage writable at {where}", UPLOADS)]


@check("uploads.quota", runbook=UPLOADS)
async def quotas(ctx: DoctorContext) -> list[Finding]:
    near: dict[str, dict[str, int]] = {}
    full = []
    async with await ctx.connect() as conn:
        tenants = await (await conn.execute("SELECT id, subdomain, tier FROM tenants")).fetchall()
        for tenant_id, subdomain, tier in tenants:
            quota = quota_for(ctx.settings, tier)
            if quota is None:
                continue
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),)
                )
                row = await (
                    await conn.execute("SELECT coalesce(sum(size_bytes), 0) FROM files")
                ).fetchone()
            used = int(row[0]) if row else 0
            if used >= QUOTA_WARN * quota:
                near[subdomain] = {"used_bytes": used, "quota_bytes": quota}
                if used >= quota:
                    full.append(subdomain)
    if not near:
        return [Finding("uploads.quota", Severity.PASS, "no workspace near its quota", UPLOADS)]
    return [
        Finding(
            "uploads.quota",
            Severity.FAIL if full else Severity.WARN,
            f"storage quota {'full' if full else 'nearly full'}: "
            + ", ".join(
                f"{sub} {v['used_bytes'] * 100 // v['quota_bytes']}%" for sub, v in near.items()
            ),
            UPLOADS,
            "Uploads answer 507 STORAGE_QUOTA_EXCEEDED: delete files or raise the tier "
            "(`tynebase tenant set-tier SUB TIER`)",
            {"tenants": near, "full": full},
        )
    ]


@check("uploads.limits", runbook=UPLOADS, needs_database=False)
async def limits(ctx: DoctorContext) -> list[Finding]:
    s = ctx.settings
    per_kind = {
        "image": int(s.file_max_image_bytes),
        "document": int(s.file_max_document_bytes),
        "audio": int(s.file_max_audio_bytes),
        "video": int(s.file_max_video_bytes),
    }
    problems = [f"{kind} limit is {size} bytes" for kind, size in per_kind.items() if size <= 0]
    smallest_quota = min(
        (q for q in (quota_for(s, t) for t in ("free", "base", "pro", "enterprise")) if q),
        default=None,
    )
    if smallest_quota is not None:
        problems += [
            f"{kind} limit ({size} bytes) exceeds the smallest tier quota ({smallest_quota})"
            for kind, size in per_kind.items()
            if size > smallest_quota
        ]
    if not problems:
        return [Finding("uploads.limits", Severity.PASS, "upload size limits are sane", UPLOADS)]
    return [
        Finding(
            "uploads.limits",
            Severity.WARN,
            "upload size limits: " + "; ".join(problems),
            UPLOADS,
            "Adjust TYNEBASE_FILE_MAX_*_BYTES (and the proxy's body size limit)",
            {"limits": per_kind},
        )
    ]


@check("errors", runbook=ERRORS, needs_database=False)
async def error_rate(ctx: DoctorContext) -> list[Finding]:
    """The API process's 5xx share since it started (from its /metrics)."""
    url = ctx.api_url.rstrip("/") + "/metrics"
    try:
        response = await ctx.http.get(url)
        response.raise_for_status()
    except Exception as exc:  # reported by the "api" check too; here it only means "unknown"
        return [
            Finding(
                "errors",
                Severity.WARN,
                f"cannot read {url}: {type(exc).__name__}",
                ERRORS,
                evidence={"url": url},
            )
        ]
    total = errors = 0.0
    by_route: dict[str, float] = {}
    for labels, value in _SAMPLE.findall(response.text):
        count = float(value)
        total += count
        status = re.search(r'status="(\d+)"', labels)
        if status and status.group(1).startswith("5"):
            errors += count
            route = re.search(r'route="([^"]*)"', labels)
            name = route.group(1) if route else "?"
            by_route[name] = by_route.get(name, 0) + count
    ratio = errors / total if total else 0.0
    evidence = {"requests": int(total), "errors_5xx": int(errors), "by_route": by_route}
    if total < MIN_REQUESTS or ratio <= ERROR_RATE_WARN:
        return [
            Finding(
                "errors",
                Severity.PASS,
                f"5xx ratio {ratio:.2%} of {int(total)} requests",
                ERRORS,
                evidence=evidence,
            )
        ]
    top = max(by_route, key=by_route.__getitem__)
    return [
        Finding(
            "errors",
            Severity.FAIL if ratio > ERROR_RATE_FAIL else Severity.WARN,
            f"high error rate: {ratio:.1%} of {int(total)} requests answered 5xx (most on {top})",
            ERRORS,
            "Read the JSON logs of those requests (status >= 500) and follow the runbook",
            evidence,
        )
    ]
