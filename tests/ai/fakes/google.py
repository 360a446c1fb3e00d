"""A fake Google OAuth token endpoint (JWT bearer grant, as used by service accounts) on loopback.

    with FakeGemini(vertex=True) as vertex, FakeGoogleToken(vertex) as tokens:
        config = vertex.config(api_key=None, **tokens.provider_settings())
        ...                                        # Vertex accepts only tokens this fake issued
        tokens.enqueue(tokens.invalid_grant())     # the next exchange is refused
        tokens.assertions[-1]                      # the verified JWT claims of each exchange

It checks what Google checks: the form's grant type, the assertion's RS256 signature against the
service account's public key, its audience (this endpoint), issuer, scope and lifetime.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.ai.fakes.providers import FakeGemini
from tests.ai.fakes.server import FakeServer, Reply, Request

CLIENT_EMAIL = "tynebase-test@fake-project.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@functools.cache
def service_account_key() -> rsa.RSAPrivateKey:
    """One RSA key for the whole test run (generating one takes a noticeable moment)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeGoogleToken(FakeServer):
    def __init__(self, vertex: FakeGemini | None = None, *, expires_in: int = 3600) -> None:
        super().__init__(self._route)
        self.vertex = vertex
        self.expires_in = expires_in
        self.assertions: list[dict[str, Any]] = []  # claims of every verified assertion
        self.issued: list[str] = []
        self._serial = itertools.count(1)
        if vertex is not None:
            vertex.valid_tokens = set()

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    def service_account_info(self) -> dict[str, str]:
        """The service account key JSON, as Google's console hands it out."""
        pem = service_account_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return {
            "type": "service_account",
            "project_id": "fake-project",
            "private_key_id": "fake-key-id-1",
            "private_key": pem.decode(),
            "client_email": CLIENT_EMAIL,
            "token_uri": self.token_url,
        }

    def revoke_all(self) -> None:
        """Tokens issued so far stop working at Vertex (a rotated key, a revoked grant)."""
        if self.vertex is not None and self.vertex.valid_tokens is not None:
            self.vertex.valid_tokens.clear()

    def invalid_grant(self, description: str = "Invalid JWT Signature.") -> Reply:
        return Reply.json({"error": "invalid_grant", "error_description": description}, status=400)

    def _route(self, request: Request) -> Reply:
        if request.method != "POST" or request.path != "/token":
            return Reply.json({"error": "not_found"}, status=404)
        form = dict(parse_qsl(request.body.decode()))
        if form.get("grant_type") != GRANT:
            return Reply.json({"error": "unsupported_grant_type"}, status=400)
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                service_account_key().public_key(),
                algorithms=["RS256"],
                audience=self.token_url,
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
            )
        except jwt.PyJWTError as exc:
            return self.invalid_grant(f"Invalid JWT: {exc}")
        if claims["iss"] != CLIENT_EMAIL or claims["scope"] != SCOPE:
            return self.invalid_grant("Invalid issuer or scope")
        if claims["exp"] - claims["iat"] > 3600:
            return self.invalid_grant("Invalid JWT: lifetime over an hour")
        self.assertions.append(claims)
        token = f"ya29.fake-{next(self._serial)}"
        self.issued.append(token)
        if self.vertex is not None and self.vertex.valid_tokens is not None:
            self.vertex.valid_tokens.add(token)
        return Reply.json(
            {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
        )
