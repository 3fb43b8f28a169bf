from __future__ import annotations

from django.urls import path

from forges.api import views

urlpatterns = [
    path(
        "repositories/<str:slug>/forge/",
        views.ForgeConnectionView.as_view(),
        name="repository-forge",
    ),
]
