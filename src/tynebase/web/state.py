"""What the web app holds for its lifetime (built by `create_web_app`, never at import time)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from tynebase.web.session import CsrfSigner, Refresher

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"


def static_versions() -> dict[str, str]:
    """Content hashes for cache-busting `?v=` query strings."""
    versions = {}
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            rel = path.relative_to(STATIC_DIR).as_posix()
            versions[rel] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return versions


def build_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        enable_async=False,
    )
    versions = static_versions()

    def static(path: str) -> str:
        return f"/static/{path}?v={versions.get(path, '0')}"

    env.globals["static"] = static
    return env


@dataclass
class WebState:
    templates: Environment
    csrf: CsrfSigner
    refresher: Refresher
    collab_url: str  # where editors open sockets (the ticket also says it)
