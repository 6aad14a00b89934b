"""Logged-in pages of the army. Namespace "army"."""

from django.urls import path

from essaim.army.mission_urls import urlpatterns as mission_urlpatterns
from essaim.army.views import calls, invitations, profile, teams

app_name = "army"
urlpatterns = [
    path("moi/", profile.profile, name="profile"),
    path("appels/", calls.call_list, name="call_list"),
    path("appels/nouveau/", calls.call_create, name="call_create"),
    path("appels/<int:pk>/", calls.call_detail, name="call_detail"),
    path("moi/mot-de-passe/", profile.password, name="password"),
    path("invitations/", invitations.my_invitations, name="invitations"),
    path("invitations/signalements/", invitations.reports, name="invitation_reports"),
    path(
        "invitations/suspensions/<int:pk>/lever/",
        invitations.lift_suspension,
        name="invitation_lift",
    ),
    path("equipes/", teams.team_list, name="team_list"),
    path("equipes/nouvelle/", teams.team_create, name="team_create"),
    path("equipes/<int:pk>/", teams.team_dashboard, name="team_dashboard"),
    path("equipes/<int:pk>/rejoindre/", teams.team_join, name="team_join"),
    path("equipes/<int:pk>/quitter/", teams.team_leave, name="team_leave"),
    path(
        "equipes/<int:pk>/demandes/<int:membership_pk>/",
        teams.team_decide,
        name="team_decide",
    ),
    path(
        "equipes/<int:pk>/coordinateurs/<int:membership_pk>/",
        teams.team_coordinator,
        name="team_coordinator",
    ),
    path("equipes/<int:pk>/membres/<int:user_pk>/", teams.member_detail, name="member_detail"),
    path(
        "equipes/<int:pk>/membres/<int:user_pk>/roles/<int:assignment_pk>/",
        teams.role_move,
        name="role_move",
    ),
]
# Missions live in their own module (another area of the app than profiles and teams).
urlpatterns += mission_urlpatterns
