"""Realistic synthetic French contacts for the demo and the benchmarks, and the base's part of
the demo's story: eight weeks of growth (contacts arriving day by day, two imported files, people
signing up on the public form).

History needs dates in the past, which the services (rightly) never write: the rows are made by
the services as the product makes them, then their timestamps are moved back with plain UPDATEs
(`backdate_contacts`), and only those.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator

from django.utils import timezone

from essaim.lib.text import fold

# Higher apps add their part of the demo (the army: the demo accounts' team, roles and missions)
# from their AppConfig.ready, since people may not import them. Each step is idempotent, runs
# after the contacts in `order`, and returns one line for the command's output.
DemoStep = Callable[[], str]
_steps: dict[str, tuple[int, DemoStep]] = {}


def register_step(name: str, step: DemoStep, *, order: int = 100) -> None:
    """Declare a demo step (from an AppConfig.ready); the same name twice replaces it."""
    _steps[name] = (order, step)


def run_steps() -> list[str]:
    """Run every registered step, in order; returns their summaries."""
    return [step() for _order, step in sorted(_steps.values(), key=lambda s: s[0])]


FIRST_NAMES = (
    "Marie",
    "Jean",
    "Pierre",
    "Michel",
    "Nathalie",
    "Isabelle",
    "Philippe",
    "Sylvie",
    "Catherine",
    "Nicolas",
    "Christophe",
    "Stéphane",
    "Sandrine",
    "Julien",
    "Céline",
    "Aurélie",
    "Thomas",
    "Camille",
    "Léa",
    "Hugo",
    "Chloé",
    "Lucas",
    "Manon",
    "Inès",
    "Mohamed",
    "Yasmine",
    "Karim",
    "Fatima",
    "Théo",
    "Zoé",
    "Émilie",
    "Jérôme",
    "Valérie",
    "Frédéric",
    "Hélène",
    "Loïc",
    "Anaïs",
    "Gaëlle",
    "François",
    "Agnès",
    "Benoît",
    "Océane",
    "Maël",
    "Noémie",
    "Raphaël",
    "Éloïse",
    "Sébastien",
    "Laëtitia",
)
LAST_NAMES = (
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefebvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefèvre",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Benali",
    "Nguyen",
    "Diallo",
    "Le Gall",
    "Kerbrat",
    "Etcheverry",
    "Ferrari",
    "Da Silva",
    "Haddad",
    "Traoré",
)
DOMAINS = (
    ["gmail.com"] * 30
    + ["orange.fr"] * 14
    + ["hotmail.fr"] * 10
    + ["outlook.fr"] * 6
    + ["free.fr"] * 8
    + ["sfr.fr"] * 5
    + ["laposte.net"] * 5
    + ["yahoo.fr"] * 5
    + ["wanadoo.fr"] * 5
    + ["icloud.com"] * 3
    + ["protonmail.com"] * 2
    + ["numericable.fr"] * 1
)
TAGS = [
    "sympathisant",
    "adhérent",
    "meeting-lyon",
    "pétition-école",
    "jeunes",
    "retraités",
    "militant-syndical",
    "newsletter",
]


def fake_rows(count: int, postcodes: list[str], *, seed: int = 2007) -> Iterator[dict[str, str]]:
    """Yield `count` contact rows (email, first_name, last_name, postcode, phone, tags)."""
    rng = random.Random(seed)
    for i in range(count):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        local = fold(f"{first}.{last}").replace(" ", "").replace("'", "")
        phone = f"+336{rng.randrange(10_000_000, 99_999_999)}" if rng.random() < 0.4 else ""
        yield {
            "email": f"{local}.{i}@{rng.choice(DOMAINS)}",
            "first_name": first,
            "last_name": last,
            "postcode": rng.choice(postcodes) if postcodes else "",
            "phone": phone,
            "tags": ",".join(rng.sample(TAGS, k=rng.choice((0, 1, 1, 2)))),
        }


# The story spans eight weeks before the first run; every date is counted back from then.
STORY_DAYS = 56
# Demo contacts whose index modulo 5 is here also consent to be called upon (calls for
# volunteers): three in five.
MOBILIZATION_EVERY = (0, 1, 2)


def story_day(now: dt.datetime, days_ago: float, hour: float = 0) -> dt.datetime:
    """`hour` o'clock (local time, fractions allowed) of the day `days_ago` days before `now`'s
    day. The story is counted from midnight, so that its days and its order do not depend on
    the hour of the run."""
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - dt.timedelta(days=int(days_ago)) + dt.timedelta(hours=hour)


def arrival(i: int, count: int, now: dt.datetime) -> dt.datetime:
    """When the i-th of `count` demo contacts joined: over STORY_DAYS days up to yesterday, ever
    faster as the vote nears (a campaign's base grows as it goes), at a daytime hour."""
    share = (i + 1) / max(count, 1)
    days_ago = 1 + int((STORY_DAYS - 1) * (1 - share**0.6))
    hour = 8 + (i * 7) % 14 + ((i * 13) % 60) / 60  # 08:00 to 21:59
    return story_day(now, days_ago, hour)


def seed_demo_contacts(*, count: int, seed: int = 2007, batch_size: int = 5000) -> int:
    """Create `count` demo contacts with a granted 'news' consent (basis: explicit consent, source:
    staff; three in five also 'mobilization') in batches, arrived over the last STORY_DAYS days
    (`arrival`); addresses already present are skipped. Returns how many were created.

    Written directly in bulk (not through upsert_contact) so that the benchmarks' millions load
    in seconds; the dates in the past are set here for the same reason."""
    from django.db import transaction
    from django.utils import timezone

    from essaim.lib.text import normalize_email
    from essaim.people.models import Consent, Contact, ContactTag, Purpose, Tag, email_hash
    from essaim.people.services.zones import postcode_map

    zones = postcode_map()
    postcodes = sorted(zones)
    tag_ids = {name: Tag.objects.get_or_create(name=name)[0].pk for name in TAGS}
    created = 0
    batch: list[dict[str, str]] = []

    now = timezone.now()
    position = 0

    def flush(start: int) -> int:
        contacts = []
        born: dict[str, dt.datetime] = {}
        mobilized: set[str] = set()
        for offset, row in enumerate(batch):
            email, key = normalize_email(row["email"])
            dep, reg = zones.get(row["postcode"], ("", ""))
            i = start + offset
            born[key] = arrival(i, count, now)
            if i % 5 in MOBILIZATION_EVERY:
                mobilized.add(key)
            contacts.append(
                Contact(
                    email=email,
                    email_key=key,
                    email_hash=email_hash(key),
                    first_name=row["first_name"],
                    last_name=row["last_name"],
                    phone=row["phone"],
                    postcode=row["postcode"],
                    departement=dep,
                    region=reg,
                    source="démo",
                    created_at=born[key],
                    updated_at=born[key],
                )
            )
        with transaction.atomic():
            keys = [c.email_key for c in contacts]
            existing = set(
                Contact.objects.filter(email_key__in=keys).values_list("email_key", flat=True)
            )
            fresh = [c for c in contacts if c.email_key not in existing]
            for contact in fresh:
                contact.fill_name_keys()  # bulk_create does not call save()
            Contact.objects.bulk_create(fresh, batch_size=1000)
            ids = dict(
                Contact.objects.filter(email_key__in=[c.email_key for c in fresh]).values_list(
                    "email_key", "pk"
                )
            )
            Consent.objects.bulk_create(
                [
                    Consent(
                        contact_id=ids[c.email_key],
                        purpose=purpose,
                        status=Consent.Status.GRANTED,
                        basis=Consent.Basis.EXPLICIT_CONSENT,
                        source=Consent.Source.STAFF,
                        source_ref="demo",
                        created_at=born[c.email_key],
                        updated_at=born[c.email_key],
                        confirmed_at=born[c.email_key],
                    )
                    for c in fresh
                    for purpose in (
                        (Purpose.NEWS, Purpose.MOBILIZATION)
                        if c.email_key in mobilized
                        else (Purpose.NEWS,)
                    )
                ],
                batch_size=1000,
            )
            by_key = {c.email_key: row for c, row in zip(contacts, batch, strict=True)}
            ContactTag.objects.bulk_create(
                [
                    ContactTag(contact_id=ids[c.email_key], tag_id=tag_ids[name])
                    for c in fresh
                    for name in by_key[c.email_key]["tags"].split(",")
                    if name
                ],
                batch_size=1000,
                ignore_conflicts=True,
            )
        return len(fresh)

    for row in fake_rows(count, postcodes, seed=seed):
        batch.append(row)
        if len(batch) >= batch_size:
            created += flush(position)
            position += len(batch)
            batch = []
    if batch:
        created += flush(position)
    return created


# --- The story of the base: imports and sign-ups in the past -------------------------------------

# (file name, rows, basis, purposes, source, tag, days ago): files the HQ imported.
IMPORTS = (
    (
        "adherents-federation-paris.csv",
        120,
        "membership",
        ("news", "mobilization"),
        "fichier adhérents",
        "adhérent",
        41,
    ),
    (
        "petition-ecoles.csv",
        80,
        "explicit_consent",
        ("news",),
        "pétition écoles",
        "pétition-école",
        19,
    ),
)
# People who signed up on the public form over the story.
SIGNUPS = 36
SIGNUP_USER_AGENT = "Mozilla/5.0 (démo)"


def backdate_contacts(contact_ids: list[int], at: dict[int, dt.datetime]) -> None:
    """Move the creation of these contacts, their consents and timeline entries back to `at`
    (per contact): the history of a demo, which services only ever write at the present time."""
    from essaim.people.models import Consent, Contact, ContactEvent

    for contact_id in contact_ids:
        when = at[contact_id]
        Contact.objects.filter(pk=contact_id).update(created_at=when, updated_at=when)
        Consent.objects.filter(contact_id=contact_id).update(created_at=when, updated_at=when)
        Consent.objects.filter(contact_id=contact_id, confirmed_at__isnull=False).update(
            confirmed_at=when
        )
        ContactEvent.objects.filter(contact_id=contact_id).update(at=when)


def seed_demo_history(*, seed: int = 2007) -> str:
    """The base's story besides the bulk of contacts: the imported files (through the import
    service, as the HQ's upload page runs them) and the sign-ups of the public form (through its
    confirmation service), each moved back to its day. Idempotent: a file already imported (by
    name) or an address already in the base is left alone. Returns a summary line."""
    imported = sum(_import_file(*spec, seed=seed) for spec in IMPORTS)
    signed = _form_signups(seed=seed)
    return f"{imported} contacts imported from {len(IMPORTS)} files, {signed} public sign-ups"


def _import_file(
    filename: str,
    rows: int,
    basis: str,
    purposes: tuple[str, ...],
    source: str,
    tag: str,
    days_ago: int,
    *,
    seed: int,
) -> int:
    from django.utils import timezone

    from essaim.accounts.services import DEMO_HQ_ADMIN, ensure_demo_accounts
    from essaim.people.models import Contact, ImportBatch
    from essaim.people.services.imports.runner import (
        create_batch,
        owned_upload,
        queue_batch,
        run_batch,
    )
    from essaim.people.services.zones import postcode_map

    if ImportBatch.objects.filter(filename=filename).exists():
        return 0
    hq = ensure_demo_accounts()[DEMO_HQ_ADMIN]
    stem = filename.split(".")[0].split("-")[0]
    lines = ["email;prénom;nom;code postal;téléphone"]
    for i, row in enumerate(fake_rows(rows, sorted(postcode_map()), seed=seed + days_ago)):
        local, domain = row["email"].split("@")
        lines.append(
            f"{local}.{stem}{i}@{domain};{row['first_name']};{row['last_name']};"
            f"{row['postcode']};{row['phone']}"
        )
    data = ("\n".join(lines) + "\n").encode()
    with owned_upload([data]) as path:
        batch = create_batch(
            path=path,
            filename=filename,
            basis=basis,
            purposes=purposes,
            source=source,
            tags=[tag],
            created_by=hq,
        )
    queue_batch(batch=batch, mapping=batch.mapping)
    batch = run_batch(batch_id=batch.pk, threaded=False, bulk=False)
    when = story_day(timezone.now(), days_ago, 10.2)
    ImportBatch.objects.filter(pk=batch.pk).update(
        created_at=when - dt.timedelta(minutes=3),
        started_at=when,
        finished_at=when + dt.timedelta(seconds=4),
    )
    ids = list(Contact.objects.filter(import_batch=batch).values_list("pk", flat=True))
    backdate_contacts(ids, dict.fromkeys(ids, when))
    return batch.imported


def _form_signups(*, seed: int) -> int:
    """SIGNUPS people confirm the public form's double opt-in, spread over the story."""
    from django.db import transaction
    from django.utils import timezone

    from essaim.people.models import Contact, Purpose
    from essaim.people.services.signup import SignupRequest, confirm_signup
    from essaim.people.services.zones import postcode_map

    now = timezone.now()
    created = 0
    # One transaction, as the other steps (see army.services.demo.seed_demo_army).
    with transaction.atomic():
        rows = fake_rows(SIGNUPS, sorted(postcode_map()), seed=seed + 1)
        for i, row in enumerate(rows):
            local, domain = row["email"].split("@")
            email = f"{local}.formulaire@{domain}"
            if Contact.objects.filter(email_key=email.casefold()).exists():
                continue
            share = (i + 1) / SIGNUPS
            at = story_day(now, 1 + int((STORY_DAYS - 1) * (1 - share**0.8)), 9 + i % 12)
            purposes = (Purpose.NEWS, Purpose.MOBILIZATION) if i % 3 else (Purpose.NEWS,)
            confirmation = confirm_signup(
                signup=SignupRequest(
                    email=email,
                    first_name=row["first_name"],
                    last_name=row["last_name"],
                    postcode=row["postcode"],
                    phone="",
                    purposes=purposes,
                    ip=f"192.0.2.{10 + i}",
                    user_agent=SIGNUP_USER_AGENT,
                    requested_at=at - dt.timedelta(minutes=4),
                ),
                ip=f"192.0.2.{10 + i}",
                user_agent=SIGNUP_USER_AGENT,
            )
            if confirmation is None:
                continue
            backdate_contacts([confirmation.contact.pk], {confirmation.contact.pk: at})
            created += int(confirmation.created)
    return created
