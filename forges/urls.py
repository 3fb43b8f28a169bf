from __future__ import annotations

from django.urls import path

from forges import views

urlpatterns = [
    path("hooks/github/", views.github, name="hook-github"),
    path("hooks/gitlab/", views.gitlab, name="hook-gitlab"),
]
