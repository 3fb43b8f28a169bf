"""The soak's one task: it records that it ran, and how long after it was sent."""

from __future__ import annotations

import os
import time

from celery import shared_task
from django.conf import settings


@shared_task(ignore_result=True)
def soak_record(n: int, sent_at: float) -> None:
    """Append "n latency-ms finished-at" to DATA_DIR/soak-done.log (one short O_APPEND write)."""
    now = time.time()
    line = f"{n} {(now - sent_at) * 1000:.1f} {now:.3f}\n".encode()
    fd = os.open(settings.DATA_DIR / "soak-done.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
