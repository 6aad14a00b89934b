import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mailing", "0006_claim_runs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CampaignTemplate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=200, unique=True, verbose_name="nom")),
                ("subject", models.CharField(max_length=250, verbose_name="objet")),
                (
                    "preheader",
                    models.CharField(blank=True, max_length=250, verbose_name="texte d'aperçu"),
                ),
                (
                    "body_markdown",
                    models.TextField(blank=True, verbose_name="message (Markdown)"),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "modèle de message",
                "verbose_name_plural": "modèles de message",
                "ordering": ["name", "id"],
            },
        ),
    ]
