"""The seven roles of the typology (PRODUCT.md, pillar 2). Their slugs are fixed: code and
missions may name them. HQ edits names and descriptions and adds roles in the admin."""

from django.db import migrations

ROLES = [
    (
        "colleur",
        "Colleur d'affiches web",
        "Web poster-sticker",
        "Place bannières, visuels et vidéos de la campagne sur ses propres sites, blogs et profils.",
        "Places the campaign's banners, visuals and videos on their own sites, blogs and profiles.",
    ),
    (
        "tchatcheur",
        "Tchatcheur",
        "Forum chatter",
        "Défend les idées de la campagne, avec ses propres mots, dans les forums et discussions.",
        "Argues for the campaign's ideas, in their own words, in forums and threads.",
    ),
    (
        "mondain",
        "Mondain",
        "Networker",
        "Invite les personnes de son carnet d'adresses à rejoindre la campagne.",
        "Invites people from their address book to join the campaign.",
    ),
    (
        "traceur",
        "Traceur",
        "Tracer",
        "Repère ce qui se dit sur la campagne dans les sites, forums et archives qu'on lui confie.",
        "Spots what is said about the campaign on the sites, forums and archives assigned to them.",
    ),
    (
        "moderateur",
        "Modérateur",
        "Moderator",
        "Modère les espaces de discussion de la campagne.",
        "Moderates the campaign's discussion spaces.",
    ),
    (
        "redacteur",
        "Rédacteur de synthèses",
        "Synthesis writer",
        "Rédige des synthèses de ce que la veille a repéré.",
        "Writes summaries of what the watch has found.",
    ),
    (
        "veilleur",
        "Veilleur",
        "Watcher",
        "Suit des sources à des heures données et signale ce qui compte.",
        "Follows sources at given times and reports what matters.",
    ),
]


def seed(apps, schema_editor):
    VolunteerRole = apps.get_model("army", "VolunteerRole")
    for position, (slug, name, name_en, description, description_en) in enumerate(ROLES, 1):
        VolunteerRole.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "name_en": name_en,
                "description": description,
                "description_en": description_en,
                "position": position * 10,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("army", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
