"""Configuration: environment variables with the TYNEBASE_ prefix (plus DATABASE_URL).

Settings are built once per entry point (`Settings()`) and passed down; nothing reads the
environment at import time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    ByteSize,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from tynebase.ai.providers.config import AITask, ProviderConfig, check_routes

MIN_SECRET_LENGTH = 32
MIB = 1024 * 1024
GIB = 1024 * MIB
# OWASP's cheapest argon2id options (m=47104 t=1 ... m=7168 t=5) all cost >= 7 MiB and
# >= 35,840 KiB x passes.
ARGON2_MIN_MEMORY_KIB = 7 * 1024
ARGON2_MIN_COST = 35_840
# Values that show up in copy-pasted examples; production refuses them.
KNOWN_DEFAULT_SECRETS = frozenset({"changeme", "change-me", "secret", "dev", "development"})


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    """Every TyneBase setting; see README "Configuration" for the reference."""

    model_config = SettingsConfigDict(env_prefix="TYNEBASE_", extra="ignore", frozen=True)

    environment: Environment = Environment.development
    data_dir: Path = Field(default=Path(".tynebase"))
    secret_key: SecretStr | None = None

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "TYNEBASE_DATABASE_URL")
    )
    app_database_url: str | None = None
    db_app_role: str = "tynebase_app"
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_max_overflow: int = Field(default=10, ge=0, le=500)
    db_pool_timeout: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    base_domain: str = "localhost"
    public_url: str = "http://localhost:8000"
    log_level: str = "INFO"
    trusted_proxies: list[str] = Field(default_factory=list)

    access_token_ttl_seconds: int = Field(default=15 * 60, ge=30, le=24 * 3600)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=300)
    email_token_ttl_seconds: int = Field(default=48 * 3600, ge=60)
    password_reset_ttl_seconds: int = Field(default=3600, ge=60)
    invite_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    signing_key_refresh_seconds: float = Field(default=30.0, gt=0)
    auto_confirm_first_admin: bool | None = None

    # Password hashing, argon2id. The default is RFC 9106's second recommended option (64 MiB,
    # 3 passes, 4 lanes); outside the test environment nothing cheaper than OWASP's minimum is
    # accepted. Existing hashes keep verifying after a change (each carries its own cost).
    argon2_memory_kib: int = Field(default=64 * 1024, ge=8, le=4 * 1024 * 1024)
    argon2_time_cost: int = Field(default=3, ge=1, le=50)
    argon2_parallelism: int = Field(default=4, ge=1, le=64)

    lockout_threshold: int = Field(default=5, ge=1)
    lockout_window_seconds: int = Field(default=15 * 60, ge=1)
    lockout_duration_seconds: int = Field(default=15 * 60, ge=1)
    rate_limit_auth_per_ip: str = "30/minute"
    rate_limit_api_per_tenant: str = "6000/minute"
    rate_limit_storage_url: str = "memory://"

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "TyneBase <no-reply@localhost>"
    smtp_starttls: bool = True

    # Job queue (procrastinate). `serve` runs a worker in-process unless this is false; `api`
    # runs one only when it is true.
    run_worker_in_process: bool | None = None
    worker_concurrency: int = Field(default=4, ge=1, le=100)
    worker_poll_seconds: float = Field(default=5.0, gt=0)
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0)
    worker_stalled_seconds: float = Field(default=30.0, gt=0)
    worker_shutdown_seconds: float = Field(default=30.0, ge=0)
    job_max_attempts: int = Field(default=5, ge=1, le=100)
    job_retry_base_seconds: float = Field(default=2.0, ge=0)
    job_retry_max_seconds: float = Field(default=600.0, ge=0)
    job_task_modules: list[str] = Field(default_factory=list)

    # Blob store (FILE-1): unset = `<data_dir>/blobs`; `file:///path` or `s3://bucket/prefix`.
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # Per-kind upload limits and per-tier quotas; sizes accept units ("10MiB", "5GB").
    file_max_image_bytes: ByteSize = ByteSize(10 * MIB)
    file_max_document_bytes: ByteSize = ByteSize(50 * MIB)
    file_max_audio_bytes: ByteSize = ByteSize(200 * MIB)
    file_max_video_bytes: ByteSize = ByteSize(500 * MIB)
    storage_quota_free_bytes: ByteSize | None = ByteSize(500 * MIB)
    storage_quota_base_bytes: ByteSize | None = ByteSize(5 * GIB)
    storage_quota_pro_bytes: ByteSize | None = ByteSize(50 * GIB)
    storage_quota_enterprise_bytes: ByteSize | None = None  # unlimited
    file_url_ttl_seconds: int = Field(default=600, ge=10, le=7 * 24 * 3600)

    # Real-time collaboration (COL). `serve` runs the collab server in-process unless this is
    # false; `api` only when it is true; `tynebase collab` is the standalone process.
    run_collab_in_process: bool | None = None
    collab_host: str = "127.0.0.1"
    collab_port: int = Field(default=8001, ge=1, le=65535)
    collab_public_url: str | None = None  # ws(s)://host/collab; default: from public_url
    collab_ticket_ttl_seconds: int = Field(default=60, ge=5, le=3600)
    collab_max_clients_per_document: int = Field(default=100, ge=1)
    collab_soft_connection_limit: int = Field(default=8000, ge=1)  # then: no new documents
    collab_hard_connection_limit: int = Field(default=10000, ge=1)  # then: no new sockets
    collab_max_message_bytes: ByteSize = ByteSize(4 * MIB)
    collab_idle_timeout_seconds: float = Field(default=120.0, gt=0)
    collab_persist_interval_ms: int = Field(default=20, ge=1, le=5000)  # update-log batching
    collab_compact_after_updates: int = Field(default=500, ge=10)
    collab_projection_debounce_seconds: float = Field(default=2.0, ge=0)
    collab_projection_max_delay_seconds: float = Field(default=10.0, gt=0)
    collab_shutdown_seconds: float = Field(default=10.0, ge=0)
    # uvicorn's WebSocket implementation (memory per socket differs: docs/PERFORMANCE.md).
    collab_websocket_impl: Literal["websockets", "websockets-sansio", "wsproto"] = (
        "websockets-sansio"
    )

    # AI providers (AI-1, AI-2): a JSON list of providers (see README "AI providers") and, per
    # task, the fallback chain of provider names; nothing configured = the offline "local" one.
    ai_providers: list[ProviderConfig] = Field(default_factory=list)
    ai_routes: dict[AITask, list[str]] = Field(default_factory=dict)
    ai_timeout_seconds: float = Field(default=60.0, gt=0)
    ai_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    ai_max_retries: int = Field(default=2, ge=0, le=10)
    ai_retry_base_seconds: float = Field(default=0.5, ge=0)
    ai_retry_after_cap_seconds: float = Field(default=10.0, ge=0)
    ai_breaker_failures: int = Field(default=5, ge=1)
    ai_breaker_cooldown_seconds: float = Field(default=30.0, gt=0)

    # Credits (AI-3), AI rate limit and URL import (FILE-4). Costs: `tynebase.credits.costs`;
    # overrides map an operation ("generate.article") or "operation@model" to credits.
    credit_costs: dict[str, float] = Field(default_factory=dict)
    credit_model_factors: dict[str, float] = Field(default_factory=dict)  # model -> multiplier
    credit_reservation_ttl_seconds: int = Field(default=3600, ge=10)  # jobless reservations
    rate_limit_ai_per_tenant: str = "60/minute"
    # Networks that are otherwise refused but may be fetched (tests, an intranet wiki); the
    # cloud metadata addresses stay refused whatever this says.
    url_fetch_allowed_networks: list[str] = Field(default_factory=list)
    url_fetch_max_bytes: ByteSize = ByteSize(5 * MIB)
    url_fetch_timeout_seconds: float = Field(default=30.0, gt=0)  # the whole fetch
    url_fetch_idle_seconds: float = Field(default=10.0, gt=0)  # silence between bytes
    url_fetch_max_redirects: int = Field(default=5, ge=0, le=20)

    @field_validator("url_fetch_allowed_networks")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            ipaddress.ip_network(value, strict=False)  # ValueError: a clear message at start
        return values

    # Retrieval (RAG): the local embedder ("wordllama", default; "minilm" needs the optional
    # packages in README "Retrieval"), how wide the HNSW search looks, and the relevance a
    # passage needs before chat answers from it.
    rag_embedder: str = Field(default="wordllama", pattern=r"^(wordllama|minilm)$")
    rag_hnsw_ef_search: int = Field(default=100, ge=10, le=1000)
    rag_min_similarity: float = Field(default=0.45, ge=-1, le=1)
    rag_chat_passages: int = Field(default=6, ge=1, le=20)

    # Operations (OPS-7, OPS-8): how long an API process trusts its copy of the maintenance
    # state (every process reads it from the database), the Retry-After of refused writes when
    # no end was given, and where `tynebase backup create` writes (default <data_dir>/backups).
    maintenance_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    maintenance_retry_after_seconds: int = Field(default=300, ge=1)
    backup_dir: Path | None = None
    # A role that bypasses row-level security and may create databases (superuser or
    # BYPASSRLS + CREATEDB), for backups of an external database; embedded: its superuser.
    backup_database_url: str | None = None

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("database_url", "app_database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = make_url(value)
        if url.get_backend_name() not in {"postgresql", "postgres"}:
            raise ValueError("must be a postgresql:// URL")
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)

    @model_validator(mode="after")
    def _ai_routes_known(self) -> Settings:
        check_routes(self.ai_routes, self.ai_providers)
        return self

    @model_validator(mode="after")
    def _stalled_after_heartbeats(self) -> Settings:
        # A live worker must never look stalled: several heartbeats fit in the stall window.
        if self.worker_stalled_seconds < 2 * self.worker_heartbeat_seconds:
            raise ValueError(
                "TYNEBASE_WORKER_STALLED_SECONDS must be at least twice "
                "TYNEBASE_WORKER_HEARTBEAT_SECONDS"
            )
        return self

    @model_validator(mode="after")
    def _argon2_strong_enough(self) -> Settings:
        if self.argon2_memory_kib < 8 * self.argon2_parallelism:
            raise ValueError("TYNEBASE_ARGON2_MEMORY_KIB must be at least 8 per lane")
        cost = self.argon2_memory_kib * self.argon2_time_cost
        if self.environment is not Environment.test and (
            self.argon2_memory_kib < ARGON2_MIN_MEMORY_KIB or cost < ARGON2_MIN_COST
        ):
            raise ValueError(
                "TYNEBASE_ARGON2_MEMORY_KIB x TYNEBASE_ARGON2_TIME_COST is below OWASP's "
                f"minimum ({ARGON2_MIN_MEMORY_KIB} KiB and {ARGON2_MIN_COST} KiB x passes); "
                "cheaper hashing is for TYNEBASE_ENVIRONMENT=test only"
            )
        return self

    @model_validator(mode="after")
    def _production_refuses_defaults(self) -> Settings:
        if self.environment is not Environment.production:
            return self
        secret = self.secret_key.get_secret_value() if self.secret_key else ""
        if len(secret) < MIN_SECRET_LENGTH or secret.lower() in KNOWN_DEFAULT_SECRETS:
            raise ValueError(
                "TYNEBASE_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters in production "
                '(python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        if self.database_url is None:
            raise ValueError(
                "DATABASE_URL must be set in production (embedded Postgres is for dev)"
            )
        return self

    @property
    def embedded(self) -> bool:
        """True when TyneBase runs its own PostgreSQL in the data directory."""
        return self.database_url is None

    @property
    def confirm_first_admin(self) -> bool:
        if self.auto_confirm_first_admin is not None:
            return self.auto_confirm_first_admin
        return self.embedded and self.environment is not Environment.production

    @cached_property
    def secret(self) -> bytes:
        """The master secret; in development it is generated once into the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()

    def derive_secret(self, purpose: str) -> str:
        """A stable per-purpose secret derived from the master secret."""
        return hmac.new(self.secret, purpose.encode(), hashlib.sha256).hexdigest()

    def app_url_from(self, owner_url: str) -> str:
        """The app-role URL: explicit, or the owner URL with the app role and derived password."""
        if self.app_database_url:
            return self.app_database_url
        password = self.derive_secret("db-app-role-password")
        url = make_url(owner_url).set(username=self.db_app_role, password=password)
        return url.render_as_string(hide_password=False)
