"""Public pages of the army (no login): "Je m'engage". Namespace "army_public"."""

from django.urls import path

from essaim.army.views import calls, engage, invitations

app_name = "army_public"
urlpatterns = [
    path("je-m-engage/", engage.engage, name="engage"),
    path("je-m-engage/envoyee/", engage.engage_sent, name="engage_sent"),
    path("je-m-engage/confirmer/<str:token>/", engage.engage_confirm, name="engage_confirm"),
    path("appel/<int:pk>/", calls.call_landing, name="call_landing"),
    path("invitation/<str:token>/", invitations.invitation_confirm, name="invitation_confirm"),
    path(
        "invitation/<str:token>/signaler/", invitations.invitation_report, name="invitation_report"
    ),
]
