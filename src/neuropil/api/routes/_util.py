"""Small helpers shared by the routers."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response


class JSON(Response):
    """A JSON response encoded with the standard library, skipping FastAPI's re-encoding."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def flag(value: str | None, default: bool) -> bool:
    """DRF-style boolean query parameters."""
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")
