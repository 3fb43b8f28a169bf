"""The Freeze and Unfreeze buttons of the train and repository pages: call the service, say
what happened in a flash and go back. A refusal is a page in the words every channel uses (as
the push buttons' are): not a release engineer (403), no reason (400), frozen already or not
frozen (409)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from common.errors import DomainError
from pushes import services
from pushes.models import Engineer, Repository
from pushes.selectors.freezes import freeze_lifted_text, freeze_started_text
from pushes.views.base import back, engineer_required, refused


@engineer_required
@require_POST
def repository_freeze(request: HttpRequest, slug: str, me: Engineer) -> HttpResponse:
    repository = get_object_or_404(Repository, slug=slug)
    try:
        window = services.repository_freeze(
            repository=repository, actor=me, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        return refused(request, error)
    messages.success(request, freeze_started_text(window))
    return back(request, repository.get_absolute_url())


@engineer_required
@require_POST
def repository_unfreeze(request: HttpRequest, slug: str, me: Engineer) -> HttpResponse:
    repository = get_object_or_404(Repository, slug=slug)
    try:
        windows = services.repository_unfreeze(
            repository=repository, actor=me, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        return refused(request, error)
    messages.success(request, freeze_lifted_text(repository, windows))
    return back(request, repository.get_absolute_url())
