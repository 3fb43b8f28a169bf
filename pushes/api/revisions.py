"""The API's revision status: "where is my revision?" by query (`GET /api/revisions/?q=`) and
by path (`GET /api/revisions/<rev>/`), the API's busiest question, with a lean path in front
of the DRF view for an answer and a token kept in memory (pushes/statuscache.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from common.permissions import ENGINEERS
from pushes import selectors
from pushes.api import inputs
from pushes.api.revision_serializers import RevisionStatusSerializer
from pushes.api.views import errors, parse, query_values
from pushes.statuscache import status_cached, status_kept


class RevisionStatusMixin:
    permission_classes = ENGINEERS

    def _status(self, asked: str, query: Callable[[], str]) -> Response:
        """The status of the revision `query()` reads from the request (raising on bad input).
        Kept by what was `asked` exactly: input that gave an answer once is valid, so a kept
        answer needs no reading of the request again."""

        def answer() -> dict:
            found = selectors.revision_status(query=query())
            return dict(RevisionStatusSerializer(found).data)

        return Response(status_cached(asked, answer))


class RevisionSearchView(RevisionStatusMixin, APIView):
    @extend_schema(
        operation_id="revisions_search",
        parameters=[inputs.RevisionQuerySerializer],
        responses={200: RevisionStatusSerializer, **errors(400, 404)},
        description="Where is my revision? `q` takes a SHA, a review URL or a review number.",
    )
    def get(self, request):
        return self._status(
            "query:" + request.META.get("QUERY_STRING", ""),
            lambda: parse(inputs.RevisionQuerySerializer, query_values(request))["q"],
        )


class RevisionView(RevisionStatusMixin, APIView):
    @extend_schema(
        operation_id="revisions_retrieve",
        parameters=[
            OpenApiParameter(
                "rev",
                str,
                OpenApiParameter.PATH,
                pattern=inputs.REVISION,
                description="A SHA (7+ hex digits), a review number (D123, #45) or a "
                "URL-encoded review URL.",
            )
        ],
        responses={200: RevisionStatusSerializer, **errors(400, 404)},
        description="Where is my revision: the commit, the branch cut with it, its picks, "
        "when it shipped, and the story in sentences.",
    )
    def get(self, request, rev: str):
        return self._status(
            "path:" + rev, lambda: parse(inputs.RevisionPathSerializer, {"rev": rev})["rev"]
        )


# Accept headers the lean path answers, those for which DRF chooses plain JSON: none, any, or
# exactly JSON. Others (a browser's, `application/json; indent=4`, ...) go through DRF.
_PLAIN_ACCEPT = frozenset({"", "*/*", "application/json"})
_revision_view = RevisionView.as_view()


@csrf_exempt
def revision_status(request: HttpRequest, rev: str) -> HttpResponse:
    """`GET /api/revisions/<rev>/`: RevisionView, with a lean path for its usual case.

    "Where is my revision?" is the API's busiest question. When the token is one whose row is
    kept in memory and names an active engineer (the view's permission), and an answer for
    `rev` is kept (pushes/statuscache.py), that answer goes out as RevisionView sends it, the
    same bytes and headers, without DRF's request, authentication, negotiation and rendering
    on each call. Anything else (nothing kept, another method or Accept header, `?format=`, a
    session) is RevisionView itself, refusals and their error shape included.
    """
    if request.method == "GET" and request.META.get("HTTP_ACCEPT", "") in _PLAIN_ACCEPT:
        auth = request.META.get("HTTP_AUTHORIZATION", "").split()
        if len(auth) == 2 and "format" not in request.GET and _kept_engineer(*auth):
            body = status_kept("path:" + rev, rendered=_json)
            if body is not None:
                response = HttpResponse(body, content_type="application/json")
                response["Vary"] = "Accept"  # as DRF's negotiation sets them
                response["Allow"] = "GET, HEAD, OPTIONS"
                return response
    return _revision_view(request, rev=rev)


# The same view for the router and the schema: drf-spectacular describes RevisionView here.
functools.update_wrapper(revision_status, _revision_view, assigned=(), updated=("__dict__",))


def _kept_engineer(keyword: str, key: str) -> bool:
    """Whether the API's token authentication (its first class) keeps a row for this key that
    names an active engineer; False when it keeps none (DRF then asks the database)."""
    token = api_settings.DEFAULT_AUTHENTICATION_CLASSES[0]
    kept = getattr(token, "kept_engineer", None)
    return kept is not None and keyword.lower() == token.keyword.lower() and kept(key) is True


def _json(answer: dict) -> bytes:
    """An answer as DRF's JSON renderer writes it for `Accept: application/json`."""
    return JSONRenderer().render(answer, "application/json", {})
