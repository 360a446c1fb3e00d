"""Provider configuration (the `TYNEBASE_AI_*` settings): pure data, validated when Settings is
built, so a typo in a provider list stops the process at start with a clear message.

Kept free of other TyneBase imports: `tynebase.settings` imports it.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class AITask(StrEnum):
    """What a call is for; routing, preferences and metrics are per task."""

    chat = "chat"  # answering questions (RAG chat)
    generate = "generate"  # drafting documents (generation, enhance, summaries)
    embed = "embed"
    rerank = "rerank"
    transcribe = "transcribe"


class ProviderKind(StrEnum):
    local = "local"  # offline, extractive; always present as the provider named "local"
    openai = "openai"  # OpenAI and compatible servers: vLLM, Ollama, LiteLLM, LocalAI ...
    azure = "azure"  # Azure OpenAI: api-key header, /openai/deployments/{model}/...
    anthropic = "anthropic"
    gemini = "gemini"  # generativelanguage.googleapis.com, x-goog-api-key
    vertex = "vertex"  # Vertex AI: same bodies, project/location URL, bearer token


# Tasks each kind can serve (a configured model for the task is needed as well).
KIND_TASKS: dict[ProviderKind, frozenset[AITask]] = {
    ProviderKind.local: frozenset({AITask.chat, AITask.generate}),
    ProviderKind.openai: frozenset(AITask),
    ProviderKind.azure: frozenset({AITask.chat, AITask.generate, AITask.embed, AITask.transcribe}),
    ProviderKind.anthropic: frozenset({AITask.chat, AITask.generate}),
    ProviderKind.gemini: frozenset({AITask.chat, AITask.generate, AITask.embed, AITask.transcribe}),
    ProviderKind.vertex: frozenset({AITask.chat, AITask.generate, AITask.embed, AITask.transcribe}),
}
DEFAULT_BASE_URLS: dict[ProviderKind, str] = {
    ProviderKind.openai: "https://api.openai.com/v1",
    ProviderKind.anthropic: "https://api.anthropic.com/v1",
    ProviderKind.gemini: "https://generativelanguage.googleapis.com/v1beta",
}
# Vector sizes of well-known embedding models; any other model needs `embedding_dimensions`.
KNOWN_EMBEDDING_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
    "text-embedding-004": 768,
    "text-embedding-005": 768,
    "gemini-embedding-001": 3072,
    "nomic-embed-text": 768,
    "mxbai-embed-large": 1024,
    "all-minilm": 384,
}
LOCAL_PROVIDER = "local"
NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"


class ProviderConfig(BaseModel):
    """One entry of TYNEBASE_AI_PROVIDERS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    kind: ProviderKind
    base_url: str | None = None  # default per kind; required for azure, vertex
    api_key: SecretStr | None = None  # bearer token for vertex
    # Vertex with a service account: its JSON key, as a file path or inline (one of them). The
    # key signs a JWT exchanged at `token_url` for access tokens, renewed before they expire.
    service_account_file: str | None = None
    service_account_json: SecretStr | None = None
    token_url: str | None = None  # default: the key's token_uri, else Google's
    # Default model (Azure: deployment) per task; a task without a model is not served.
    models: dict[AITask, str] = Field(default_factory=dict)
    # Further models a tenant admin may pick (AI preferences) besides the defaults.
    allowed_models: list[str] = Field(default_factory=list)
    embedding_dimensions: int | None = Field(default=None, ge=1, le=16_000)
    api_version: str = "2024-10-21"  # azure only
    anthropic_version: str = "2023-06-01"  # anthropic only
    timeout_seconds: float | None = Field(default=None, gt=0)  # None: TYNEBASE_AI_TIMEOUT_SECONDS
    max_retries: int | None = Field(default=None, ge=0, le=10)  # None: TYNEBASE_AI_MAX_RETRIES
    # Ask OpenAI-compatible servers for token usage in streams (turn off for old servers that
    # refuse unknown fields).
    stream_usage: bool = True
    # Extra headers (gateways, org ids); values are secret-typed so they never show in reprs.
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> ProviderConfig:
        if self.kind is ProviderKind.local:
            raise ValueError(
                'the "local" provider is built in; do not list it in TYNEBASE_AI_PROVIDERS'
            )
        unsupported = set(self.models) - KIND_TASKS[self.kind]
        if unsupported:
            names = ", ".join(sorted(unsupported))
            raise ValueError(f"provider {self.name!r} ({self.kind}) cannot serve: {names}")
        if self.base_url is None and self.kind not in DEFAULT_BASE_URLS:
            raise ValueError(f"provider {self.name!r} ({self.kind}) needs base_url")
        self._check_service_account()
        if AITask.embed in self.models and self.dimensions is None:
            raise ValueError(
                f"provider {self.name!r}: set embedding_dimensions for model "
                f"{self.models[AITask.embed]!r}"
            )
        return self

    def _check_service_account(self) -> None:
        inline, path = self.service_account_json, self.service_account_file
        if inline is None and path is None:
            if self.token_url is not None:
                raise ValueError(f"provider {self.name!r}: token_url needs a service account")
            return
        if self.kind is not ProviderKind.vertex:
            raise ValueError(f"provider {self.name!r}: a service account is for kind vertex only")
        if inline is not None and path is not None:
            raise ValueError(
                f"provider {self.name!r}: set service_account_file or service_account_json, "
                "not both"
            )
        if self.api_key is not None:
            raise ValueError(
                f"provider {self.name!r}: set api_key (an access token) or a service account, "
                "not both"
            )
        if inline is not None:
            # The file is read when the provider is built (at start, see google_auth).
            try:
                info = json.loads(inline.get_secret_value())
            except ValueError:
                info = None
            if not isinstance(info, dict) or not {"client_email", "private_key"} <= info.keys():
                raise ValueError(
                    f"provider {self.name!r}: service_account_json must be a service account "
                    "key (JSON with client_email and private_key)"
                )

    @property
    def url(self) -> str:
        base = self.base_url or DEFAULT_BASE_URLS[self.kind]
        return base.rstrip("/")

    @property
    def dimensions(self) -> int | None:
        """Vector size of the embedding model (configured, else known from the model name)."""
        if self.embedding_dimensions is not None:
            return self.embedding_dimensions
        model = self.models.get(AITask.embed, "")
        return KNOWN_EMBEDDING_DIMENSIONS.get(model.rsplit("/", 1)[-1].split(":")[0])

    def models_for(self, task: AITask) -> list[str]:
        """Models a tenant may choose for `task` on this provider (the default first)."""
        default = self.models.get(task)
        if default is None:
            return []
        return [default, *(m for m in self.allowed_models if m != default)]


def check_routes(
    routes: dict[AITask, list[str]], providers: list[ProviderConfig]
) -> dict[AITask, list[str]]:
    """Every name in TYNEBASE_AI_ROUTES must be a configured provider able to serve the task."""
    by_name = {p.name: p for p in providers}
    if len(by_name) != len(providers):
        raise ValueError("TYNEBASE_AI_PROVIDERS: provider names must be unique")
    if LOCAL_PROVIDER in by_name:
        raise ValueError('TYNEBASE_AI_PROVIDERS: the name "local" is reserved')
    for task, chain in routes.items():
        for name in chain:
            if name == LOCAL_PROVIDER:
                if task not in KIND_TASKS[ProviderKind.local]:
                    raise ValueError(f"TYNEBASE_AI_ROUTES: local cannot serve {task}")
                continue
            provider = by_name.get(name)
            if provider is None:
                raise ValueError(f"TYNEBASE_AI_ROUTES: unknown provider {name!r} for {task}")
            if task not in provider.models:
                raise ValueError(
                    f"TYNEBASE_AI_ROUTES: provider {name!r} has no model for {task} "
                    f"(set models.{task})"
                )
    return routes
