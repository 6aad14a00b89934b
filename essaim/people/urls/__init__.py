"""The base's pages for the campaign's team, namespace "people" (under /base/). The public pages
(sign-up, unsubscribe: no login) are in public.py, namespace "public"."""

from django.urls import path

from essaim.people.views import bulk as bulk_views
from essaim.people.views import contact_edit, contacts
from essaim.people.views import export as export_views
from essaim.people.views import gdpr as gdpr_views
from essaim.people.views import imports as import_views
from essaim.people.views import segments as segment_views
from essaim.people.views import tags as tag_views

app_name = "people"
urlpatterns = [
    path("contacts/", contacts.contact_list, name="contact_list"),
    path("contacts/nouveau/", contact_edit.contact_create, name="contact_create"),
    path("contacts/actions/", bulk_views.contact_bulk, name="contact_bulk"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/modifier/", contact_edit.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/reveler/", contacts.contact_reveal, name="contact_reveal"),
    path("export/", export_views.export_contacts, name="export"),
    path("segments/", segment_views.segment_list, name="segment_list"),
    path("segments/nouveau/", segment_views.segment_create, name="segment_create"),
    path("segments/compter/", segment_views.segment_count, name="segment_count"),
    path("segments/<int:pk>/", segment_views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/recompter/", segment_views.segment_recount, name="segment_recount"),
    path("segments/<int:pk>/supprimer/", segment_views.segment_delete, name="segment_delete"),
    path("etiquettes/", tag_views.tag_list, name="tag_list"),
    path("etiquettes/<int:pk>/renommer/", tag_views.tag_rename, name="tag_rename"),
    path("etiquettes/<int:pk>/supprimer/", tag_views.tag_delete, name="tag_delete"),
    path("contacts/<int:pk>/rgpd/acces/", gdpr_views.contact_access, name="contact_access"),
    path("contacts/<int:pk>/rgpd/effacement/", gdpr_views.contact_erase, name="contact_erase"),
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/nouveau/", import_views.import_upload, name="import_upload"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/colonnes/", import_views.import_mapping, name="import_mapping"),
    path(
        "imports/<int:pk>/lignes-invalides.csv",
        import_views.import_report,
        name="import_report",
    ),
    path(
        "imports/<int:pk>/avertissements.csv",
        import_views.import_warnings,
        name="import_warnings",
    ),
]
