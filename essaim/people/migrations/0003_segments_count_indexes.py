# Indexes for segment counts on PostgreSQL (see docs/benchmarks.md, "Segments and contact list").

from django.db import migrations

# PostgreSQL only: SQLite's single-column indexes already carry the rowid, so `region = '11'`
# is a covering scan there, and SQLite's planner probes consent through the unique
# (contact, purpose) index whatever else exists.
#
# - (region, id), (departement, id): a zone filter becomes an index-only scan feeding the tag and
#   consent semi-joins, instead of a bitmap heap scan reading one page per contact (a million-row
#   count went from ~90 ms to ~10 ms for that step);
# - consent (contact_id, purpose) WHERE status = 'granted': the "granted" probe of segments and of
#   ContactQuerySet.mailable() hits a small index (granted rows only, two narrow columns) instead of
#   the three-column (purpose, status, contact) one, about 3x faster per probe.
INDEXES = {
    "people_contact_region_id_idx": "people_contact (region, id)",
    "people_contact_departement_id_idx": "people_contact (departement, id)",
    "people_consent_granted_idx": "people_consent (contact_id, purpose) WHERE status = 'granted'",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, target in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("people", "0002_segments_search_indexes"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
