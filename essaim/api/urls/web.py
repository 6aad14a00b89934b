"""HTML pages of the API: HQ's API tokens (under /comptes/jetons/)."""

from django.urls import path

from essaim.api import views

app_name = "api_tokens"
urlpatterns = [
    path("", views.token_list, name="list"),
    path("nouveau/", views.token_create, name="create"),
    path("<int:pk>/", views.token_edit, name="edit"),
    path("<int:pk>/revoquer/", views.token_revoke, name="revoke"),
]
