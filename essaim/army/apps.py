from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArmyConfig(AppConfig):
    name = "essaim.army"
    verbose_name = _("L'armée")
