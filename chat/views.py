"""The bot's web doors: Slack's HTTP endpoint, and the chat console for people in a browser."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt

from chat import blocks, commands, selectors, services, slack
from chat.mrkdwn import blocks_mrkdwn
from common.api import TOO_LARGE

MAX_LENGTH = 2000


@csrf_exempt  # Slack signs its requests instead: the signature and its age are checked first
def slack_events(request: HttpRequest) -> HttpResponse:
    """Slash commands, events and button presses from Slack: checked, then handed to Bolt.
    Every refusal answers in the API's error shape."""
    if not (settings.SLACK_BOT_TOKEN and settings.SLACK_SIGNING_SECRET):
        return _error(
            "not-configured",
            "Slack is not configured on this Releasebot: set SLACK_BOT_TOKEN and "
            "SLACK_SIGNING_SECRET to use this endpoint.",
            status=404,
        )
    if settings.SLACK_APP_TOKEN:
        return _error(
            "not-configured",
            "Slack reaches this Releasebot over Socket Mode (SLACK_APP_TOKEN is set): the bot "
            "service (manage.py bot_slack) receives its events, not this endpoint.",
            status=404,
        )
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse(TOO_LARGE, status=413)
    refusal = slack.request_refusal(
        body=body, headers=request.headers, secret=settings.SLACK_SIGNING_SECRET
    )
    if refusal is not None:
        return JsonResponse(refusal.as_dict(), status=refusal.status)
    return slack.request_handler().handle(request)


def _error(code: str, message: str, *, status: int) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))  # django-htmx's middleware sets it


@login_required
def console(request: HttpRequest) -> HttpResponse:
    """The grammar in a browser: GET shows the person's conversation (kept per person, the
    latest exchanges, oldest first), POST says one line to the bot as the signed-in engineer,
    or with `clear` forgets the conversation. With htmx only the new exchange comes back, to
    be appended."""
    user_id = int(request.user.pk or 0)  # signed in: login_required
    if request.method == "POST":
        if "clear" in request.POST:
            services.console_history_clear(user_id=user_id)
            return redirect("chat")
        said = request.POST.get("text", "").strip()[:MAX_LENGTH]
        if said:
            engineer = getattr(request.user, "engineer", None)
            reply = commands.answer(said, engineer=engineer)
            answer = blocks_mrkdwn(reply.blocks) or blocks.escape(reply.text)
            exchange = services.console_exchange_record(
                user_id=user_id, said=said, answer=answer, refused=reply.refused
            )
            if _htmx(request):
                first = selectors.console_count(user_id=user_id) == 1  # the placeholder goes
                context = {"exchange": exchange, "first": first}
                return render(request, "chat/_exchange.html", context)
        if _htmx(request):
            return HttpResponse("")
        return redirect("chat")
    conversation = selectors.console_history(user_id=user_id)
    context = {"conversation": conversation, "kept": services.KEPT, "nav": "chat"}
    return render(request, "chat/console.html", context)
