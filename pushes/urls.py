from __future__ import annotations

from django.urls import path

from pushes import views

urlpatterns = [
    path("", views.home, name="home"),
    path("repositories/<slug:slug>/", views.repository, name="repository"),
    path("branches/<int:pk>/", views.branch, name="branch"),
    path("pushes/<int:pk>/", views.push, name="push"),
    path("picks/<int:pk>/", views.pick, name="pick"),
    path("engineers/<str:username>/", views.engineer, name="engineer"),
]
