from django.urls import path

from essaim.mailing import views

app_name = "mailing"
urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("nouvelle/", views.campaign_compose, name="campaign_create"),
    path("modeles/", views.template_list, name="template_list"),
    path("modeles/<int:pk>/suppression/", views.template_delete, name="template_delete"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/modifier/", views.campaign_compose, name="campaign_edit"),
    path("<int:pk>/apercu/", views.campaign_preview, name="campaign_preview"),
    path("<int:pk>/apercu/message/", views.campaign_preview_frame, name="campaign_preview_frame"),
    path("<int:pk>/test/", views.campaign_test_send, name="campaign_test_send"),
    path("<int:pk>/duplication/", views.campaign_duplicate, name="campaign_duplicate"),
    path("<int:pk>/modele/", views.template_create, name="template_create"),
    path("<int:pk>/lancement/", views.campaign_launch, name="campaign_launch"),
    path("<int:pk>/pause/", views.campaign_pause, name="campaign_pause"),
    path("<int:pk>/reprise/", views.campaign_resume, name="campaign_resume"),
    path("<int:pk>/annulation/", views.campaign_cancel, name="campaign_cancel"),
    path(
        "<int:pk>/inconnus/remise-en-file/",
        views.campaign_requeue_unknown,
        name="campaign_requeue_unknown",
    ),
]
