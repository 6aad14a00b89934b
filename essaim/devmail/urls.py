from django.urls import path

from essaim.devmail import views

app_name = "devmail"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.message, name="message"),
    path("<int:pk>/html/", views.message_html, name="message_html"),
]
