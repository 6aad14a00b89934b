"""Logged-in pages of the army. Namespace "army"."""

from django.urls import path

from essaim.army.views import profile

app_name = "army"
urlpatterns = [
    path("moi/", profile.profile, name="profile"),
    path("moi/mot-de-passe/", profile.password, name="password"),
]
