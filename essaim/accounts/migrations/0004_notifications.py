# Notifications for everyone (issue 16): the army's volunteer-only notifications and their
# digest setting move here (army.0008 copies them).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_audit_append_only_chain'),
    ]

    operations = [
        migrations.CreateModel(
            name='Notification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=20)),
                ('object_id', models.BigIntegerField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('read_at', models.DateTimeField(blank=True, null=True)),
                ('emailed_at', models.DateTimeField(blank=True, null=True)),
                ('recipient', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'notification',
                'indexes': [models.Index(fields=['recipient', 'read_at', 'kind'], name='accounts_notif_recipient_idx'), models.Index(condition=models.Q(('emailed_at__isnull', True), ('read_at__isnull', True)), fields=['recipient'], name='accounts_notif_digest_idx')],
                'constraints': [models.UniqueConstraint(fields=('kind', 'object_id', 'recipient'), name='accounts_notif_uniq')],
            },
        ),
        migrations.CreateModel(
            name='NotificationSettings',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='notification_settings', serialize=False, to=settings.AUTH_USER_MODEL)),
                ('digest', models.CharField(choices=[('none', 'Jamais'), ('daily', 'Chaque jour'), ('weekly', 'Chaque semaine')], default='daily', max_length=6, verbose_name='récapitulatif par e-mail')),
                ('last_digest_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'verbose_name': 'réglages des notifications',
                'verbose_name_plural': 'réglages des notifications',
            },
        ),
    ]
