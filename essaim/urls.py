from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from essaim.accounts.views import wellknown
from essaim.project import views as project_views

urlpatterns = [
    path("", project_views.home, name="home"),
    path("comptes/", include("essaim.accounts.urls")),
    path("comptes/jetons/", include("essaim.api.urls.web")),
    path("base/", include("essaim.people.urls")),
    path("", include("essaim.people.urls.public")),
    path("", include("essaim.army.urls.public")),
    path("campagnes/", include("essaim.mailing.urls")),
    path("armee/", include("essaim.army.urls")),
    path("veille/", include("essaim.watch.urls")),
    path("dev/courrier/", include("essaim.devmail.urls")),
    path("api/", include("essaim.api.urls")),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path(".well-known/security.txt", wellknown.security_txt, name="security_txt"),
    path("favicon.ico", wellknown.favicon, name="favicon"),
]
