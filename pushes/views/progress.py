"""A push's live progress as a partial: the push page, the train page and the risk dashboard
include it, and it polls itself (every `POLL_SECONDS`) while the push is queued or runs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from pushes.models import Push
from pushes.selectors.progress import push_progress


@login_required
@require_GET
def push_progress_part(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress block alone, as the pages poll it."""
    try:
        progress = push_progress(push_id=pk)
    except Push.DoesNotExist:
        raise Http404("No such push.") from None
    return render(request, "pushes/_push_progress.html", {"progress": progress})
