"""The signals pushes sends for the apps built on it, which pushes knows nothing of."""

from __future__ import annotations

from django.dispatch import Signal

# Many picks moved in one bulk write (a push's picks recorded or shipped), which sends no
# `post_save` for each event: sent once with `pick_ids`, in the write's transaction.
picks_moved = Signal()
