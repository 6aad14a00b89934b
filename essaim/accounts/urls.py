from django.contrib.auth import views as auth_views
from django.urls import path

from essaim.accounts import views

app_name = "accounts"
urlpatterns = [
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("connexion/lien/", views.magic_request, name="magic_request"),
    path("connexion/lien/envoye/", views.magic_sent, name="magic_sent"),
    path("connexion/lien/<str:token>/", views.magic_login, name="magic_login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", views.audit_log, name="audit_log"),
]
