"""The forges' services: deliveries in (`delivery_receive`), picks asked for on pull requests
(`pick_ask_handle`), their states written back (`pull_request_writeback`), and the sweep that
retries what the forge or a worker left undone (`forge_work_due`)."""

from __future__ import annotations

from forges.services.asks import engineer_for, pick_ask_handle
from forges.services.deliveries import Received, delivery_receive
from forges.services.sweep import forge_work_due
from forges.services.writeback import comment_render, pull_request_writeback

__all__ = [
    "Received",
    "comment_render",
    "delivery_receive",
    "engineer_for",
    "forge_work_due",
    "pick_ask_handle",
    "pull_request_writeback",
]
