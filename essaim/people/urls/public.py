"""Public pages (no login): sign-up, confirmation, unsubscribe. Namespace "public"."""

from django.urls import path

from essaim.people.views import signup, unsubscribe

app_name = "public"
urlpatterns = [
    path("inscription/", signup.signup, name="signup"),
    path("inscription/envoyee/", signup.signup_sent, name="signup_sent"),
    path("inscription/confirmer/<str:token>/", signup.signup_confirm, name="signup_confirm"),
    path("desinscription/<str:token>/", unsubscribe.unsubscribe_page, name="unsubscribe"),
]
