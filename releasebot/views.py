"""Project-level pages: the OpenSearch description behind the browser shortcut `rb REV`."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


def opensearch(request: HttpRequest) -> HttpResponse:
    """Lets a browser add Releasebot as a search engine; give it the keyword `rb`."""
    body = render_to_string("opensearch.xml", {"site": settings.SITE_URL}, request=request)
    return HttpResponse(body, content_type="application/opensearchdescription+xml")
