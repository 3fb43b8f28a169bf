from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from releasebot import oidc, signin, views

# Sign-in with the company's OpenID Connect provider (releasebot/oidc.py), routed only when its
# settings are set: authenticate/, callback/, and logout/ (a POST that signs out as /logout/
# does). tests/test_oidc.py routes it with URLs of its own.
OIDC = [path("oidc/", include("mozilla_django_oidc.urls"))] if settings.OIDC_ENABLED else []

urlpatterns = [
    path("admin/", admin.site.urls),
    path("opensearch.xml", views.opensearch, name="opensearch"),
    path("login/", oidc.LoginView.as_view(), name="login"),
    *OIDC,
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # A page for people: a visitor is sent to log in, as on every other page. The split view
    # serves Swagger UI's start-up script as a file (?script), not inline: the page then needs
    # no exception to the Content-Security-Policy.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("api/auth/token/", signin.TokenView.as_view(), name="api-token"),
    path("api/karma/", include("karma.api.urls")),  # before pushes' catch-all under api/
    path("api/", include("forges.api.urls")),
    path("api/", include("pushes.api.urls")),
    path("", include("forges.urls")),
    path("", include("chat.urls")),
    path("", include("pushes.urls")),
]

# A 400 from Django itself (a body too large, too many fields) answers in the API's error shape
# under /api/.
handler400 = "common.api.bad_request"
