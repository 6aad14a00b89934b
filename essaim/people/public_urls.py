"""Public pages (no login): sign-up, confirmation, unsubscribe."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
