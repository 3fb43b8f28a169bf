"""The REST API. Each view parses with a serializer, calls one service or selector, renders.

Refusals are DomainErrors raised by the services (and DRF's own errors); the project's
exception handler answers all of them as {"error": code, "message": text, "details"?}.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.serializers import CharField, Serializer

from common.errors import NotFound
from common.permissions import ENGINEERS
from common.serializers import EmptySerializer, error_responses
from pushes import services
from pushes.api import inputs
from pushes.api import serializers as s
from pushes.api.notes import NOTES_SCHEMA, MarkdownRenderer
from pushes.api.repositories import RepositoryActions
from pushes.models import (
    Notification,
    Pick,
    PickEvent,
    Push,
    ReleaseBranch,
    Repository,
    TestRun,
)
from pushes.moves import Channel, Move, Target, moves_of
from pushes.selectors import release_notes


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses for the schema; every endpoint may answer 401 and 403."""
    return error_responses(*codes)


PICKS_CREATED = inline_serializer(
    name="PicksCreated",
    fields={
        "picks": s.PickCreatedSerializer(many=True, help_text="One per branch it was made on."),
        "refused": inline_serializer(
            name="PickRefusedOnBranch",
            many=True,
            fields={
                "branch": CharField(help_text="The branch as named in the request."),
                "error": CharField(help_text='Its refusal\'s code, e.g. "already-requested".'),
                "message": CharField(help_text="Why, in a sentence."),
            },
        ),
    },
)

QUEUED = OpenApiResponse(
    s.PushSerializer, description="Queued: the push runs in the background; poll the push."
)


def parse(serializer_class: type[Serializer], data: object) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def query_values(request) -> dict[str, str]:
    """The query string as plain values (the last of repeated ones). A QueryDict would make DRF
    treat `?state=` as no filter at all, where the schema says an empty value is invalid."""
    return request.query_params.dict()


class ApiViewSet(viewsets.GenericViewSet):
    """Engineers only; an unknown id is a 404 in the error shape, whatever its spelling."""

    permission_classes = ENGINEERS
    filter_serializer_class: type[Serializer] | None = None
    missing = "There is no such object."

    def get_object(self):
        value = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        try:
            if "\x00" in str(value):  # in no slug or id, and PostgreSQL refuses to compare it
                raise ValueError(value)
            obj = self.get_queryset().filter(**{self.lookup_field: value}).first()
        except (ValueError, TypeError, DjangoValidationError):
            obj = None
        if obj is None:
            raise NotFound(self.missing.format(str(value)[:60]))
        self.check_object_permissions(self.request, obj)
        return obj

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """Filter a list by its query parameters; each field's source is its ORM lookup."""
        if self.filter_serializer_class is None:
            return queryset
        return queryset.filter(**parse(self.filter_serializer_class, query_values(self.request)))


# --- repositories, branches, pushes -------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="repositories_list", responses={200: s.RepositorySerializer, **errors(400)}
    ),
    retrieve=extend_schema(
        operation_id="repositories_retrieve",
        responses={200: s.RepositorySerializer, **errors(404)},
    ),
)
class RepositoryViewSet(
    RepositoryActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet
):
    """Repositories on a train and their cadence; release engineers change their settings and
    freeze or unfreeze them (the actions are in pushes.api.repositories)."""

    queryset = Repository.objects.order_by("name", "pk")
    serializer_class = s.RepositorySerializer
    lookup_field = "slug"
    missing = "There is no repository {!r}."


@extend_schema_view(
    list=extend_schema(
        operation_id="branches_list",
        parameters=[inputs.BranchFilterSerializer],
        responses={200: s.BranchSerializer, **errors(400)},
    ),
    retrieve=extend_schema(
        operation_id="branches_retrieve", responses={200: s.BranchSerializer, **errors(404)}
    ),
)
class BranchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Release branches, newest cut first."""

    queryset = ReleaseBranch.objects.select_related("repository").order_by("-cut_at", "-pk")
    serializer_class = s.BranchSerializer
    filter_serializer_class = inputs.BranchFilterSerializer
    missing = "There is no branch #{}."


@extend_schema_view(
    list=extend_schema(
        operation_id="pushes_list",
        parameters=[inputs.PushFilterSerializer],
        responses={200: s.PushSerializer, **errors(400)},
    ),
    retrieve=extend_schema(
        operation_id="pushes_retrieve", responses={200: s.PushDetailSerializer, **errors(404)}
    ),
)
class PushViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Pushes, latest scheduled first; one push with its picks, counts and test runs."""

    queryset = Push.objects.select_related("branch__repository").order_by("-scheduled_at", "-pk")
    filter_serializer_class = inputs.PushFilterSerializer
    missing = "There is no push #{}."

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch(
                    "picks",
                    Pick.objects.select_related("requestor__user", "branch", "push").order_by(
                        "trunk_position", "pk"
                    ),
                ),
                Prefetch("test_runs", TestRun.objects.defer("log").order_by("started_at", "pk")),
            )
        return queryset

    def get_serializer_class(self):
        return s.PushDetailSerializer if self.action == "retrieve" else s.PushSerializer

    @NOTES_SCHEMA
    @action(detail=True, methods=["get"], url_path="notes", renderer_classes=[MarkdownRenderer])
    def notes(self, request, pk=None):
        """The push's release notes, in Markdown."""
        return Response(release_notes.push_notes(push=self.get_object()))


# --- picks --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="picks_list",
        parameters=[inputs.PickFilterSerializer],
        responses={200: s.PickSerializer, **errors(400)},
    ),
    retrieve=extend_schema(
        operation_id="picks_retrieve", responses={200: s.PickDetailSerializer, **errors(404)}
    ),
)
class PickViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Cherry-pick requests, newest first, and every move of one."""

    queryset = Pick.objects.select_related(
        "branch__repository", "push", "requestor__user", "backup__user"
    ).order_by("-created_at", "-pk")
    filter_serializer_class = inputs.PickFilterSerializer
    missing = "There is no pick #{}."

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if self.action != "list":
            queryset = queryset.prefetch_related(
                Prefetch("events", PickEvent.objects.select_related("actor__user")),
                Prefetch("test_runs", TestRun.objects.defer("log").order_by("started_at", "pk")),
            )
        return queryset

    def get_serializer_class(self):
        return s.PickSerializer if self.action == "list" else s.PickDetailSerializer

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        params = parse(self.filter_serializer_class, query_values(self.request))
        if params.pop("mine", False):
            me = self.request.user.engineer
            queryset = queryset.filter(Q(requestor=me) | Q(backup=me))
        return queryset.filter(**params)

    @extend_schema(
        operation_id="picks_create",
        request=inputs.PickRequestSerializer,
        responses={
            201: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="PickCreatedAnswer",
                    serializers=[s.PickCreatedSerializer, PICKS_CREATED],
                    resource_type_field_name=None,
                ),
                description="Stored, with its dry run on the branch. With `branches`: the "
                "picks made, each with its dry run, and the branches refused.",
            ),
            **errors(400),
        },
        description="Ask for a trunk revision on a release branch. Every refusal (bad or "
        "unknown revision, ambiguous prefix, already in the branch or requested, karma, "
        "closed branch) is a 400 with its code, and nothing is stored. With `branches`, one "
        "pick per branch: a refusal on one branch is listed in `refused` and leaves the others "
        "be; refused on every branch, the answer is the first refusal, and nothing is stored. "
        "With `urgent`, an approval puts the pick in a push started for it then (its requestor "
        "still confirms first) instead of the next daily push.",
    )
    def create(self, request):
        params = parse(inputs.PickRequestSerializer, request.data)
        if "branch_names" in params:
            return self._create_on_branches(request, params)
        result = services.pick_request(requestor=request.user.engineer, **params)
        context = {**self.get_serializer_context(), "dry_run": result.dry_run}
        data = s.PickCreatedSerializer(result.pick, context=context).data
        location = reverse("api:pick-detail", args=[result.pick.pk])
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})

    def _create_on_branches(self, request, params: dict) -> Response:
        answers = services.pick_request_branches(requestor=request.user.engineer, **params)
        made = [answer.result for answer in answers if answer.result is not None]
        refused = [(answer.branch_name, answer.refusal) for answer in answers if answer.refusal]
        if not made:
            raise refused[0][1]
        context = self.get_serializer_context()
        picks = [
            s.PickCreatedSerializer(
                result.pick, context={**context, "dry_run": result.dry_run}
            ).data
            for result in made
        ]
        return Response(
            {
                "picks": picks,
                "refused": [
                    {"branch": name, "error": error.code, "message": error.message}
                    for name, error in refused
                ],
            },
            status=status.HTTP_201_CREATED,
        )


# --- moves: one action per move of the registry that the API offers -----------------------

_PLURALS = {Target.PICK: "picks", Target.PUSH: "pushes", Target.BRANCH: "branches"}


def _pick_move_action(move: Move):
    """POST /api/picks/<id>/<move>/: the move's service, answered with the pick as it is now."""
    request_class = inputs.move_input(move)

    def act(self, request, pk=None):
        pick = self.get_object()
        params = parse(request_class, request.data)
        move.service_function(pick_id=pick.pk, actor=request.user.engineer, **params)
        return Response(self.get_serializer(self.get_object()).data)

    return _as_action(
        move,
        act,
        request=request_class,
        responses={200: s.PickDetailSerializer, **errors(400, 404, 409)},
    )


def _push_move_action(move: Move):
    """POST /api/pushes/<id>/run/ or /api/branches/<id>/push-now/: queued, answered 202 with
    the push that runs; a move made at once (a rollback) answers 200 with the push."""
    request_class = inputs.move_input(move)

    def act(self, request, pk=None):
        obj = self.get_object()
        params = parse(request_class, request.data)
        push = move.service_function(
            **{f"{move.target}_id": obj.pk}, actor=request.user.engineer, **params
        )
        data = s.PushSerializer(push, context=self.get_serializer_context()).data
        done = status.HTTP_202_ACCEPTED if move.background else status.HTTP_200_OK
        return Response(data, status=done)

    answered = {202: QUEUED} if move.background else {200: OpenApiResponse(s.PushSerializer)}
    return _as_action(
        move, act, request=request_class, responses={**answered, **errors(400, 404, 409)}
    )


def _as_action(move: Move, act: Callable, *, request: type, responses: dict) -> Callable:
    """`act` as the viewset's action named after the move (DRF names routes by the function)."""
    act.__name__ = act.__qualname__ = move.name
    act.__doc__ = move.summary
    routed = action(detail=True, methods=["post"], url_path=move.slug)(act)
    return extend_schema(
        operation_id=f"{_PLURALS[move.target]}_{move.name}",
        description=move.summary,
        request=request,
        responses=responses,
    )(routed)


def _with_moves(viewset: type, target: Target, make) -> None:
    for move in moves_of(target, Channel.API):
        setattr(viewset, move.name, make(move))


_with_moves(PickViewSet, Target.PICK, _pick_move_action)
_with_moves(PushViewSet, Target.PUSH, _push_move_action)
_with_moves(BranchViewSet, Target.BRANCH, _push_move_action)


# --- test runs, inbox (revisions: pushes/api/revisions.py) ----------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="test_runs_list",
        parameters=[inputs.TestRunFilterSerializer],
        responses={200: s.TestRunSerializer, **errors(400)},
    ),
    retrieve=extend_schema(
        operation_id="test_runs_retrieve",
        responses={200: s.TestRunDetailSerializer, **errors(404)},
    ),
)
class TestRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The test runs after each pick and over each push; the log only on one run."""

    queryset = TestRun.objects.order_by("-started_at", "-pk")
    filter_serializer_class = inputs.TestRunFilterSerializer
    missing = "There is no test run #{}."

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        return queryset.defer("log") if self.action == "list" else queryset

    def get_serializer_class(self):
        return s.TestRunSerializer if self.action == "list" else s.TestRunDetailSerializer


@extend_schema_view(
    list=extend_schema(
        operation_id="inbox_list",
        responses={200: s.NotificationSerializer, **errors(400)},
        description="Your notifications, newest first.",
    ),
)
class InboxViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = s.NotificationSerializer
    queryset = Notification.objects.order_by("-created_at", "-pk")

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.none()
        return self.queryset.filter(engineer=self.request.user.engineer)

    @extend_schema(
        operation_id="inbox_read",
        request=EmptySerializer,
        responses={200: s.InboxReadSerializer, **errors(400)},
        description="Mark all your notifications read.",
    )
    @action(detail=False, methods=["post"])
    def read(self, request):
        parse(EmptySerializer, request.data)
        marked = services.notification_mark_read(engineer=request.user.engineer)
        return Response(s.InboxReadSerializer({"marked": marked}).data)


@csrf_exempt  # it changes nothing; a POST to a wrong address should get this 404, not a 403
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other address under /api/: a 404 in the API's error shape, not an HTML page."""
    message = f"There is no API endpoint at {request.path}. They are listed at /api/docs/."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match and match.func is not not_found:
            message = f"There is no API endpoint at {request.path}: add the trailing slash."
    return JsonResponse({"error": "not-found", "message": message}, status=404)
