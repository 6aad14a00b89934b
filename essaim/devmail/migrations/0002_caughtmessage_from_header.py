from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("devmail", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="caughtmessage",
            name="from_header",
            field=models.CharField(blank=True, max_length=500),
        ),
    ]
