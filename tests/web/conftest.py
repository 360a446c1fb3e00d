"""Web fixtures: a browser-like client (its own cookie jar) on the shared app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, Account


class Browser:
    """A TestClient with its own cookies that follows the pages like a person would."""

    def __init__(self, client: TestClient, base_url: str = "http://testserver") -> None:
        # A second client on the already-running app (the session client ran its lifespan).
        self.http = TestClient(client.app, raise_server_exceptions=False, base_url=base_url)

    @staticmethod
    def csrf(html: str) -> str:
        match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
            r'data-csrf="([^"]+)"', html
        )
        assert match, "no CSRF token in the page"
        return match.group(1)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.http.get(path, **kwargs)

    def post_form(
        self, path: str, data: dict[str, str], *, page: str | None = None, **kw: Any
    ) -> Any:
        """Submit a form on `page` (default: GET `path` first) with its CSRF token."""
        html = self.get(page or path).text
        return self.http.post(
            path, data={**data, "csrf_token": self.csrf(html)}, follow_redirects=False, **kw
        )

    def login(self, account: Account) -> Browser:
        response = self.post_form(
            f"/w/{account.subdomain}/login",
            {"email": account.email, "password": account.password or PASSWORD, "next": ""},
        )
        assert response.status_code == 303, response.text
        return self


@pytest.fixture
def browser(client: TestClient) -> Iterator[Browser]:
    return Browser(client)
