from __future__ import annotations

import io
import json
import logging

from tynebase.logging import JsonFormatter, redact, request_id_var, tenant_var


def _emit(message: str, **extra: object) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tynebase.test-logging")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.info(message, extra=extra)
    parsed: dict[str, object] = json.loads(stream.getvalue())
    return parsed


def test_json_line_carries_context_and_extra_fields() -> None:
    token = request_id_var.set("req-1")
    tenant = tenant_var.set("acme")
    try:
        entry = _emit("request", route="/api/users/{user_id}", status=200)
    finally:
        request_id_var.reset(token)
        tenant_var.reset(tenant)
    assert entry["msg"] == "request"
    assert entry["request_id"] == "req-1"
    assert entry["tenant"] == "acme"
    assert entry["route"] == "/api/users/{user_id}"
    assert entry["status"] == 200
    assert entry["level"] == "info"


def test_secrets_are_redacted_in_fields_and_messages() -> None:
    entry = _emit(
        "login with password=hunter2hunter2 and Bearer eyJabc.def.ghi",
        password="hunter2hunter2",
        headers={"Authorization": "Bearer x", "Accept": "a"},
        api_key="tb_abcdefghij_" + "s" * 40,
    )
    text = json.dumps(entry)
    assert "hunter2" not in text
    assert "eyJabc" not in text
    assert "s" * 40 not in text
    assert entry["headers"] == {"Authorization": "[REDACTED]", "Accept": "a"}


def test_redact_leaves_ordinary_values() -> None:
    assert redact({"route": "/x", "count": 3}) == {"route": "/x", "count": 3}
    assert redact("key tb_abcdefghij_" + "Z" * 40) == "key [REDACTED]"
