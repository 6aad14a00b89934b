from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailingConfig(AppConfig):
    name = "essaim.mailing"
    verbose_name = _("Remobilisation")

    def ready(self) -> None:
        from essaim.mailing.services import gdpr
        from essaim.mailing.services.demo import seed_demo_mailing
        from essaim.people.services.demo import register_step
        from essaim.people.services.gdpr_sections import register_section

        # A person's access report lists the ledger's rows about them; erasure blanks them.
        register_section(
            "mailing", order=10, report=gdpr.access_section, erase=gdpr.blank_ledger_copies
        )
        # `essaim demo` adds campaigns sent over the last weeks, with their results.
        register_step("mailing", seed_demo_mailing, order=15)
