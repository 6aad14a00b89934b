"""Realistic synthetic French contacts for the demo and the benchmarks."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

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


def seed_demo_contacts(*, count: int, seed: int = 2007, batch_size: int = 5000) -> int:
    """Create `count` demo contacts with a granted 'news' consent (basis: explicit consent, source:
    staff) in batches; addresses already present are skipped. Returns how many were created."""
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

    def flush() -> int:
        now = timezone.now()
        contacts = []
        for row in batch:
            email, key = normalize_email(row["email"])
            dep, reg = zones.get(row["postcode"], ("", ""))
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
                    created_at=now,
                    updated_at=now,
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
                        purpose=Purpose.NEWS,
                        status=Consent.Status.GRANTED,
                        basis=Consent.Basis.EXPLICIT_CONSENT,
                        source=Consent.Source.STAFF,
                        source_ref="demo",
                        created_at=now,
                        updated_at=now,
                        confirmed_at=now,
                    )
                    for c in fresh
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
            created += flush()
            batch = []
    if batch:
        created += flush()
    return created
