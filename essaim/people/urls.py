from django.urls import path

from essaim.people.views import contacts

app_name = "people"
urlpatterns = [
    path("contacts/", contacts.contact_list, name="contact_list"),
]
