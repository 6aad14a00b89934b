"""Logged-in pages of the army. Namespace "army". The public pages are in urls/public.py."""

from django.urls import path

from essaim.army.views import (
    calls,
    invitations,
    kits,
    library,
    mission_desk,
    missions,
    oversight,
    profile,
    teams,
)

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
    # Missions: the volunteers' pages, then the pages that run them, kits and the library.
    path("missions/", missions.my_missions, name="my_missions"),
    path("missions/reglages/", missions.mission_settings, name="mission_settings"),
    path("missions/classement/", missions.leaderboard, name="leaderboard"),
    path("missions/<int:pk>/", missions.mission_detail, name="mission_detail"),
    path("missions/<int:pk>/prendre/", missions.claim, name="mission_claim"),
    path("missions/<int:pk>/rendre/", missions.release, name="mission_release"),
    path("missions/<int:pk>/preuve/", missions.prove, name="mission_prove"),
    path("preuves/<int:pk>/capture/", mission_desk.screenshot, name="proof_screenshot"),
    path("relecture/", mission_desk.review_queue, name="review_queue"),
    path("relecture/<int:pk>/", mission_desk.review, name="review"),
    path("missions/gerer/", mission_desk.missions_run, name="missions_run"),
    path("missions/gerer/nouvelle/", mission_desk.mission_create, name="mission_create"),
    path("missions/gerer/<int:pk>/modifier/", mission_desk.mission_edit, name="mission_edit"),
    path(
        "missions/gerer/<int:pk>/dupliquer/",
        mission_desk.mission_duplicate,
        name="mission_duplicate",
    ),
    path("missions/gerer/<int:pk>/publier/", mission_desk.mission_publish, name="mission_publish"),
    path("missions/gerer/<int:pk>/clore/", kits.mission_close, name="mission_close"),
    path("missions/gerer/<int:pk>/kit/", kits.mission_kit, name="mission_kit"),
    path("missions/qg/a-approuver/", oversight.approvals, name="mission_approvals"),
    path("missions/qg/a-approuver/<int:pk>/", oversight.decide, name="mission_decide"),
    path("missions/qg/sauts-de-points/", oversight.jumps, name="points_jumps"),
    path(
        "missions/qg/volontaires/<int:pk>/travail/",
        oversight.accepted_work,
        name="accepted_work",
    ),
    path("kits/fichiers/<int:pk>/", kits.kit_file, name="kit_file"),
    path("kits/fichiers/<int:pk>/retirer/", kits.kit_file_delete, name="kit_file_delete"),
    path("argumentaire/", library.library, name="library"),
    path("argumentaire/nouveau/", library.point_create, name="talking_point_create"),
    path("argumentaire/<int:pk>/", library.point_detail, name="talking_point"),
    path("argumentaire/<int:pk>/retirer/", library.point_retire, name="talking_point_retire"),
]
