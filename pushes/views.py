"""Pages of the train. Each view parses, calls one selector or service, and renders."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from pushes import selectors
from pushes.models import Engineer, Pick, Push, ReleaseBranch, Repository


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "pushes/home.html", {"trains": selectors.train_overview(), "nav": "train"}
    )


@login_required
def repository(request: HttpRequest, slug: str) -> HttpResponse:
    repo = get_object_or_404(Repository, slug=slug)
    branches = repo.branches.order_by("-cut_at")
    return render(request, "pushes/repository.html", {"repository": repo, "branches": branches})


@login_required
def branch(request: HttpRequest, pk: int) -> HttpResponse:
    branch = get_object_or_404(ReleaseBranch.objects.select_related("repository"), pk=pk)
    return render(request, "pushes/branch.html", selectors.branch_page(branch=branch))


@login_required
def push(request: HttpRequest, pk: int) -> HttpResponse:
    push = get_object_or_404(Push.objects.select_related("branch__repository"), pk=pk)
    return render(request, "pushes/push.html", selectors.push_page(push=push))


@login_required
def pick(request: HttpRequest, pk: int) -> HttpResponse:
    pick = get_object_or_404(
        Pick.objects.select_related(
            "branch__repository", "push", "requestor__user", "backup__user"
        ),
        pk=pk,
    )
    return render(request, "pushes/pick.html", selectors.pick_page(pick=pick))


@login_required
def engineer(request: HttpRequest, username: str) -> HttpResponse:
    person = get_object_or_404(Engineer.objects.select_related("user"), user__username=username)
    return render(request, "pushes/engineer.html", selectors.engineer_page(engineer=person))
