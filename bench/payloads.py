"""Bodies and headers shared by Threadline benchmarks and their baselines, so both carry the same bytes."""

from __future__ import annotations

import json

JSON_HEADERS = {"Content-Type": "application/json"}
MESSAGE_BYTES = 200


def message_body(index: int, marker: str = "bench") -> bytes:
    """A ``{"content": ...}`` body of exactly ``MESSAGE_BYTES`` bytes whose content starts with a marker."""
    prefix = f"{marker} {index:08d} "
    overhead = len(json.dumps({"content": prefix}))
    return json.dumps({"content": prefix + "x" * max(0, MESSAGE_BYTES - overhead)}).encode()


def bearer_headers(token: str) -> dict[str, str]:
    """JSON headers plus the bearer credential, as every benchmark request to Threadline sends them."""
    return {**JSON_HEADERS, "Authorization": f"Bearer {token}"}
