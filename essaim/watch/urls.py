from django.urls import path

from essaim.watch import (
    respond_views,
    story_views,
    synthesis_views,
    triage_views,
    views,
    watchlist_views,
)

app_name = "watch"
urlpatterns = [
    path("sources/", views.source_list, name="source_list"),
    path("sources/ajouter/", views.source_add, name="source_add"),
    path("sources/<int:pk>/", views.source_detail, name="source_detail"),
    path("sources/<int:pk>/desactiver/", views.source_disable, name="source_disable"),
    path("sources/<int:pk>/reactiver/", views.source_enable, name="source_enable"),
    path("sources/opml/import/", views.opml_import, name="opml_import"),
    path("sources/opml/export/", views.opml_export, name="opml_export"),
    path("sujets/", story_views.story_list, name="story_list"),
    path("sujets/nouveaux/", story_views.story_news, name="story_news"),
    path("sujets/<int:pk>/", story_views.story_detail, name="story_detail"),
    path("sujets/<int:pk>/mission/", respond_views.story_respond, name="story_respond"),
    path("syntheses/", synthesis_views.synthesis_list, name="synthesis_list"),
    path("syntheses/preparer/", synthesis_views.synthesis_prepare, name="synthesis_prepare"),
    path("syntheses/abonnement/", synthesis_views.synthesis_subscribe, name="synthesis_subscribe"),
    path("syntheses/<int:pk>/", synthesis_views.synthesis_detail, name="synthesis_detail"),
    path("syntheses/<int:pk>/modifier/", synthesis_views.synthesis_edit, name="synthesis_edit"),
    path(
        "syntheses/<int:pk>/publier/", synthesis_views.synthesis_publish, name="synthesis_publish"
    ),
    path("rapprochements/", story_views.suggestion_list, name="suggestion_list"),
    path(
        "rapprochements/<int:pk>/accepter/",
        story_views.suggestion_accept,
        name="suggestion_accept",
    ),
    path(
        "rapprochements/<int:pk>/refuser/", story_views.suggestion_reject, name="suggestion_reject"
    ),
    path("preuves/<int:pk>/", story_views.evidence_download, name="evidence_download"),
    path("listes/", watchlist_views.watchlist_list, name="watchlist_list"),
    path("listes/nouvelle/", watchlist_views.watchlist_create, name="watchlist_create"),
    path("listes/essai/", watchlist_views.watchlist_test, name="watchlist_test"),
    path("listes/<int:pk>/", watchlist_views.watchlist_detail, name="watchlist_detail"),
    path("listes/<int:pk>/revue/", watchlist_views.watchlist_backfill, name="watchlist_backfill"),
    path("listes/<int:pk>/modifier/", watchlist_views.watchlist_edit, name="watchlist_edit"),
    path("listes/<int:pk>/supprimer/", watchlist_views.watchlist_delete, name="watchlist_delete"),
    path("tri/", triage_views.triage_queue, name="triage_queue"),
    path("tri/nouveaux/", triage_views.triage_news, name="triage_news"),
    path("tri/<int:pk>/", triage_views.triage_story, name="triage_story"),
    path("tri/<int:pk>/prendre/", triage_views.triage_take, name="triage_take"),
    path("tri/<int:pk>/rendre/", triage_views.triage_release, name="triage_release"),
    path("tri/<int:pk>/decider/", triage_views.triage_decide, name="triage_decide"),
    path("alertes/", triage_views.alert_list, name="alert_list"),
    path("alertes/nouvelles/", triage_views.alert_news, name="alert_news"),
    path("alertes/choix/", triage_views.alert_settings, name="alert_settings"),
    path("alertes/webhooks/", triage_views.webhook_list, name="webhook_list"),
    path(
        "alertes/webhooks/<int:pk>/supprimer/", triage_views.webhook_delete, name="webhook_delete"
    ),
    path("alertes/<int:pk>/", triage_views.alert_detail, name="alert_detail"),
    path("recherche/", watchlist_views.item_search, name="item_search"),
    path("signaler/", views.tracer, name="tracer"),
    path("signalements/", views.review_queue, name="review_queue"),
    path("signalements/<int:pk>/examiner/", views.submission_review, name="submission_review"),
    path(
        "signalements/<int:pk>/capture/", views.submission_screenshot, name="submission_screenshot"
    ),
]
