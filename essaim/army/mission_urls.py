"""Mission pages, included in the army's namespace ("army")."""

from django.urls import path

from essaim.army.views import kits, library, mission_desk, missions, oversight

urlpatterns = [
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
