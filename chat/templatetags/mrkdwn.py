"""`{{ text|mrkdwn }}`: the bot's Slack mrkdwn as safe HTML (chat.mrkdwn)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from chat.mrkdwn import mrkdwn_to_html

register = template.Library()


@register.filter(name="mrkdwn", is_safe=True)
def mrkdwn(text: str) -> SafeString:
    return mrkdwn_to_html(str(text or ""))
