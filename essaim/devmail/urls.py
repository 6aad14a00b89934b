from django.urls import path

from essaim.devmail import views

app_name = "devmail"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.message, name="message"),
]
