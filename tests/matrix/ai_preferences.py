"""Matrix entries for AI preferences: A reads and replaces only its own; B's stored pick stays."""

from __future__ import annotations

from tests.matrix.core import Target, World

PATH = "/api/tenant/ai-preferences"


def _with_b_preference(world: World) -> str:
    def make() -> str:
        # The matrix app has no remote provider configured: "local" is the one B can pick.
        response = world.b.request("PUT", PATH, json={"chat": {"provider": "local"}})
        assert response.status_code == 200, response.text
        return PATH

    return world.once("ai_preferences", make)


ENTRIES: dict[tuple[str, str], Target] = {
    ("GET", PATH): Target("collection", _with_b_preference),
    # A replacing its own set must leave B's row alone (the snapshot checks it).
    ("PUT", PATH): Target("collection", _with_b_preference, body=lambda _w, _holder: {}),
}
