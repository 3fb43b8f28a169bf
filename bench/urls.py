"""The product's URLs and `/bench/bare/`: a view that does nothing, served through the same
middleware by the same gunicorn, the baseline of the HTTP benchmark."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from releasebot.urls import urlpatterns as product


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare), *product]
