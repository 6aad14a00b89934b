from django.urls import path

from essaim.api.root import api

urlpatterns = [path("", api.urls)]
