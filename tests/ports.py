"""A free TCP port on 127.0.0.1 (no Django here: standalone scripts import it too)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nobody listens on now: the probe that found it is closed again."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
