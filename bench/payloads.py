"""Bodies and headers shared by Threadline benchmarks and their baselines, so both carry the same bytes."""

from __future__ import annotations

import json

JSON_HEADERS = {"Content-Type": "application/json"}
MESSAGE_BYTES = 200
_ENVELOPE_BYTES = len(json.dumps({"content": ""}))


def message_body(index: int, marker: str = "bench") -> bytes:
    """A ``{"content": ...}`` body of ``MESSAGE_BYTES`` bytes whose content is ``"<marker> <index> xxx…"``."""
    prefix = f"{marker} {index:08d} "
    padding = "x" * max(0, MESSAGE_BYTES - _ENVELOPE_BYTES - len(prefix))
    return json.dumps({"content": prefix + padding}).encode()


def marker_index(content: str, marker: str) -> int | None:
    """The index ``message_body`` wrote into ``content`` after ``marker``, or None for other content."""
    name, _, rest = content.partition(" ")
    number = rest[:8]
    return int(number) if name == marker and number.isdigit() else None


def bearer_headers(token: str) -> dict[str, str]:
    """JSON headers plus the bearer credential, as every benchmark request to Threadline sends them."""
    return {**JSON_HEADERS, "Authorization": f"Bearer {token}"}
