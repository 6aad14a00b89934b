"""Every periodic job of Essaim, in one place, so that one file says what runs when.

Huey's consumer (`essaim run_huey`), like every process, imports this module from the
project-level app's ready() (essaim.project): the jobs call into every pillar, so no pillar
registers them.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_expired_import_files() -> None:
    from essaim.people.services.imports import purge_old_import_files

    purge_old_import_files()


@db_periodic_task(crontab(minute="23", hour="4"))
def lapse_idle_volunteer_roles() -> None:
    """Active volunteer roles without accepted work for ROLE_LAPSE_WEEKS weeks become lapsed."""
    from essaim.army.services.lifecycle import lapse_idle_roles

    lapse_idle_roles()


@db_periodic_task(crontab(minute="5"))
def send_notification_digests() -> None:
    """Hourly: each person's digest of unread notifications goes when the interval they chose
    (daily, weekly; or never) is up."""
    from essaim.accounts.services.notifications import send_digests

    send_digests()


@db_periodic_task(crontab(minute="11"))
def send_waiting_invitations() -> None:
    """Hourly: invitations that waited for room under INVITATIONS_CAMPAIGN_DAILY_CAP go out,
    as many as the day allows (none of a suspended inviter's)."""
    from essaim.army.services.invitations import send_waiting_invitations as send

    send()


@db_periodic_task(crontab(minute="41", hour="3"))
def prune_watch_history() -> None:
    """The sources' poll history older than WATCH_HISTORY_DAYS goes."""
    from essaim.watch.services.history import prune_history

    prune_history()


@db_periodic_task(crontab(minute="47", hour="3"))
def prune_watch_evidence() -> None:
    """The raw responses older than WATCH_EVIDENCE_DAYS that no recent item cites go."""
    from essaim.watch.services.history import prune_evidence

    prune_evidence()


@db_periodic_task(crontab(minute="*/5"))
def place_pending_watch_items() -> None:
    """Items a watcher stored but could not place in stories (it died, the ingest failed)."""
    from essaim.watch.services.stories import ingest_pending

    ingest_pending()


@db_periodic_task(crontab(minute="47", hour="3"))
def prune_watch_bands() -> None:
    """MinHash bands of items older than the stories' window are no longer compared."""
    from essaim.watch.services.stories import prune_bands

    prune_bands()


@db_periodic_task(crontab(minute="30", hour="6"))
def draft_daily_synthesis() -> None:
    """Each morning, the draft of yesterday's synthesis for the writers to edit and publish."""
    from essaim.watch.services.synthesis import make_draft

    make_draft()


@db_periodic_task(crontab(minute="*/15"))
def detect_watch_spikes() -> None:
    """A watchlist matching far more distinct sources than usual raises a spike alert (the
    rule: essaim.watch.services.spikes)."""
    from essaim.watch.services.spikes import detect

    detect()


@db_periodic_task(crontab(minute="*/5"))
def send_pending_watch_alert_mails() -> None:
    """Alert mails still waiting a while after their alert (the mail server was down, the
    task was lost) are sent, each once (essaim.watch.services.alerts.mail_pending)."""
    from essaim.watch.services.alerts import mail_pending

    mail_pending()


@db_periodic_task(crontab(minute="*/1"))
def retry_watch_webhooks() -> None:
    """The alerts' webhook deliveries that failed are tried again once their wait is over."""
    from essaim.watch.services.webhooks import retry_due

    retry_due()
