from django.contrib.auth import views as auth_views
from django.urls import path

from essaim.accounts import views
from essaim.accounts.views import audit, notifications, style_guide

app_name = "accounts"
urlpatterns = [
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("connexion/lien/", views.magic_request, name="magic_request"),
    path("connexion/lien/envoye/", views.magic_sent, name="magic_sent"),
    path("connexion/lien/<str:token>/", views.magic_login, name="magic_login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("connexion/code/", views.two_factor_verify, name="two_factor_verify"),
    path("double-facteur/", views.two_factor_settings, name="two_factor_settings"),
    path("double-facteur/activer/", views.two_factor_enrol, name="two_factor_enrol"),
    path("double-facteur/codes/", views.two_factor_codes, name="two_factor_codes"),
    path(
        "double-facteur/codes/nouveaux/",
        views.two_factor_regenerate,
        name="two_factor_regenerate",
    ),
    path("double-facteur/reinitialiser/", views.two_factor_reset, name="two_factor_reset"),
    path("securite/", views.security, name="security"),
    path("securite/debloquer/", views.security_unlock, name="security_unlock"),
    path(
        "securite/double-facteur/<int:user_id>/reinitialiser/",
        views.security_reset_two_factor,
        name="security_reset_two_factor",
    ),
    path("audit/", audit.audit_log_page, name="audit_log"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/<int:pk>/", notifications.notification_open, name="notification_open"),
    path("notifications/<int:pk>/lue/", notifications.notification_read, name="notification_read"),
    path(
        "notifications/tout-lu/",
        notifications.notification_read_all,
        name="notification_read_all",
    ),
    path(
        "notifications/recapitulatif/",
        notifications.notification_digest,
        name="notification_digest",
    ),
    path("guide-de-style/", style_guide.style_guide, name="style_guide"),
]
