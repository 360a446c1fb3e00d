"""Property-based API tests (schemathesis) against the app's own /openapi.json, in process (ASGI).

(a) Without credentials every secured operation answers 401 UNAUTHENTICATED (also with a made-up
    credential), and no operation answers 5xx.
(b) As the admin of a fresh workspace, generated requests, valid and invalid, never get a 5xx and
    every response conforms to the documented status codes, content types and schemas.

Bounded and repeatable: deterministic generation, MAX_EXAMPLES per operation and mode, no shrinking.

schemathesis' own pytest integration (`schemathesis.pytest.from_fixture`) does not work with
pytest 9.2 (it reads `Function._nodeid`, which is gone), so each operation is one pytest test here
that drives `operation.as_strategy()` with Hypothesis directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import TEST_SECRET, Account, Accounts, TestDatabase
from tynebase.api.app import create_app
from tynebase.db.engine import DatabaseUrls
from tynebase.settings import Settings

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
LOGOUT = ("POST", "/api/auth/logout")
UNAUTHENTICATED = {"UNAUTHENTICATED", "INVALID_TOKEN", "INVALID_API_KEY"}


def _documented_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every documented operation; building the app touches no database."""
    unused = "postgresql+psycopg://nobody@/nothing"
    app = create_app(
        Settings(_env_file=None, secret_key=TEST_SECRET),  # type: ignore[call-arg]
        DatabaseUrls(owner=unused, app=unused),
    )
    return sorted(
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    )


OPERATIONS = _documented_operations()


@pytest.fixture(scope="module")
def asgi_app(settings: Settings, database: TestDatabase) -> Iterator[FastAPI]:
    # A second app on the same database: schemathesis runs its lifespan on its own event loop,
    # which must not share an engine with the session's TestClient.
    yield create_app(settings, database.urls)
    schemathesis.python.asgi.shutdown_lifespans()


def _load(app: FastAPI, *, security_parameters: bool) -> Any:
    config = schemathesis.Config.from_dict(
        {"generation": {"with-security-parameters": security_parameters}}
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@pytest.fixture(scope="module")
def anonymous_schema(asgi_app: FastAPI) -> Any:
    """Generates made-up `Authorization` headers for secured operations (and leaves them out)."""
    return _load(asgi_app, security_parameters=True)


@pytest.fixture(scope="module")
def admin_schema(asgi_app: FastAPI) -> Any:
    """Never generates `Authorization`: the admin's credential is sent with every request."""
    return _load(asgi_app, security_parameters=False)


@pytest.fixture(scope="module")
def workspace(client: TestClient, database: TestDatabase) -> Account:
    return Accounts(client, database.urls.owner).signup(tier="base")


def _operation(api_schema: Any, method: str, path: str) -> Any:
    return api_schema[path][method]


def _is_secured(operation: Any) -> bool:
    return bool(operation.definition.raw.get("security"))


def _explore(operation: Any, run: Callable[[Any, GenerationMode], None]) -> None:
    """Call `run(case, mode)` for generated valid and invalid requests of `operation`."""
    for mode in MODES:
        try:
            _explore_mode(operation, mode, run)
        except Unsatisfiable:
            # Nothing to get wrong in a request without parameters or body (GET /health).
            assert mode is GenerationMode.NEGATIVE, operation.label


def _explore_mode(
    operation: Any, mode: GenerationMode, run: Callable[[Any, GenerationMode], None]
) -> None:
    @HYPOTHESIS
    @given(case=operation.as_strategy(generation_mode=mode))
    def explore(case: Any) -> None:
        try:
            run(case, mode)
        except BaseException as exc:  # say which request did it
            exc.add_note(f"{mode.value} case: {case.as_curl_command()}")
            raise

    explore()


def test_the_documented_operations_are_those_served(admin_schema: Any) -> None:
    served = sorted(
        (op.method.upper(), op.path)
        for op in (result.ok() for result in admin_schema.get_all_operations())
    )
    assert served == OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_without_credentials(
    method: str, path: str, anonymous_schema: Any, workspace: Account
) -> None:
    operation = _operation(anonymous_schema, method, path)
    secured = _is_secured(operation)
    tenant = {"X-Tenant-Subdomain": workspace.subdomain}

    def run(case: Any, mode: GenerationMode) -> None:
        made_up = [name for name in case.headers or {} if name.lower() == "authorization"]
        attempts = [dict(case.headers)] if made_up else []
        attempts.append({k: v for k, v in (case.headers or {}).items() if k not in made_up})
        for headers in attempts:
            case.headers = headers
            response = case.call(headers=tenant)
            case.validate_response(response, checks=CHECKS)
            if not secured:
                continue
            # A body that is not even JSON is refused before anyone is asked who they are.
            if mode is GenerationMode.NEGATIVE and response.status_code == 400:
                continue
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] in UNAUTHENTICATED, response.text

    _explore(operation, run)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_as_admin(method: str, path: str, admin_schema: Any, workspace: Account) -> None:
    operation = _operation(admin_schema, method, path)
    secured = _is_secured(operation)

    def run(case: Any, _mode: GenerationMode) -> None:
        caller = workspace
        if (method, path) == LOGOUT:  # logging out ends the session: each call gets its own
            caller = dataclasses.replace(workspace).login()
        response = case.call(headers=caller.headers)
        case.validate_response(response, checks=CHECKS)
        if secured:
            # Whatever was refused, it was not for want of a valid credential.
            assert response.status_code != 401, response.text

    _explore(operation, run)
