# The army's notifications and the volunteers' digest setting move to accounts (issue 16:
# notifications for everyone), kept row for row: kinds get their new names, "never" becomes
# "none". One INSERT … SELECT each, whatever the number of rows.

from django.db import migrations

KINDS = (
    ("new_mission", "mission_offered"),
    ("accepted", "proof_accepted"),
    ("returned", "proof_returned"),
    ("closed", "mission_closed"),
)


def forwards(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    old = quote(apps.get_model("army", "Notification")._meta.db_table)
    new = quote(apps.get_model("accounts", "Notification")._meta.db_table)
    old_settings = quote(apps.get_model("army", "VolunteerMissionSettings")._meta.db_table)
    new_settings = quote(apps.get_model("accounts", "NotificationSettings")._meta.db_table)
    cases = " ".join(f"WHEN '{a}' THEN '{b}'" for a, b in KINDS)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {new} (recipient_id, kind, object_id, created_at, read_at, emailed_at) "
            f"SELECT volunteer_id, CASE kind {cases} ELSE kind END, mission_id, created_at, "
            f"read_at, emailed_at FROM {old}"
        )
        cursor.execute(
            f"INSERT INTO {new_settings} (user_id, digest, last_digest_at) "
            f"SELECT volunteer_id, CASE digest WHEN 'never' THEN 'none' ELSE digest END, "
            f"last_digest_at FROM {old_settings}"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_notifications'),
        ('army', '0007_mission_approval_invitation_limits'),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.DeleteModel(
            name='Notification',
        ),
        migrations.RemoveField(
            model_name='volunteermissionsettings',
            name='digest',
        ),
        migrations.RemoveField(
            model_name='volunteermissionsettings',
            name='last_digest_at',
        ),
    ]
