"""A push's live progress as a partial: the push page, the train page and the risk dashboard
include it, and it polls itself (every `POLL_SECONDS`) while the push is queued or runs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from pushes.models import Push
from pushes.selectors.progress import push_progress


@login_required
@require_GET
def push_progress_part(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress block alone, as the pages poll it."""
    get_object_or_404(Push, pk=pk)
    return render(request, "pushes/_push_progress.html", {"progress": push_progress(push_id=pk)})
