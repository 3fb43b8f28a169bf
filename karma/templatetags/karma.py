"""Push karma on a page: `{% load karma %}`, then `{% stars n %}`."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from karma.models import MAX_STARS

register = template.Library()


@register.simple_tag
def stars(count: int | None) -> str:
    count = MAX_STARS if count is None else count
    return format_html(
        '<span class="stars" title="{} of {} stars">{}<span class="off">{}</span></span>',
        count,
        MAX_STARS,
        "★" * count,
        "★" * (MAX_STARS - count),
    )
