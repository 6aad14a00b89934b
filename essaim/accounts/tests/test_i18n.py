"""French first, English on request: the switcher, Accept-Language, and a complete English .po."""

from __future__ import annotations

import ast
import gettext
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

LOGIN = reverse("accounts:login")
SIGNUP = reverse("public:signup")
EN_DIR = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
PLACEHOLDER_RE = re.compile(r"%(?:\([^)]*\))?[sdirf]")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def translations(self) -> list[str]:
        return [value for key, value in self.fields.items() if key.startswith("msgstr")]


def read_po(path: Path) -> list[Entry]:
    """The live entries of a .po file (obsolete `#~` entries skipped), header included."""
    entries: list[Entry] = []
    entry: Entry | None = None
    current = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#~"):
            entry = None
            continue
        if entry is None:
            entry = Entry(number)
            entries.append(entry)
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry.fields[current] += ast.literal_eval(line)
        else:
            current, _, quoted = line.partition(" ")
            entry.fields[current] = ast.literal_eval(quoted)
    return [e for e in entries if "msgid" in e.fields]


@pytest.fixture(autouse=True)
def restore_language() -> Iterator[None]:
    """LocaleMiddleware leaves the last request's language active in the thread: put it back, or
    the next test file would run its services in English."""
    yield
    translation.deactivate()


def login_page(client: Client, **headers: Any) -> str:
    response = client.get(LOGIN, **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_login_page_is_in_french_by_default(db: Any) -> None:
    html = login_page(Client())
    assert '<html lang="fr">' in html
    assert "<h1>Connexion</h1>" in html
    assert '<label for="id_password">Mot de passe</label>' in html
    assert '<button type="submit">Se connecter</button>' in html


def test_language_switcher_turns_the_login_page_into_english(db: Any) -> None:
    client = Client()
    response = client.post(reverse("set_language"), {"language": "en", "next": LOGIN})
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    html = login_page(client)
    assert '<html lang="en">' in html
    assert "<title>Log in · Essaim</title>" in html
    assert "<h1>Log in</h1>" in html
    assert '<label for="id_username">Email address</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert '<button type="submit">Log in</button>' in html
    assert "Se connecter" not in html
    # …and back to French.
    client.post(reverse("set_language"), {"language": "fr", "next": LOGIN})
    assert "<h1>Connexion</h1>" in login_page(client)


def test_browser_asking_for_english_gets_the_login_page_in_english(db: Any) -> None:
    html = login_page(Client(), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert "<h1>Log in</h1>" in html
    assert '<button type="submit">Log in</button>' in html


def test_sign_up_page_in_english(db: Any) -> None:
    html = Client().get(SIGNUP, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<title>Sign up · Essaim</title>" in html
    assert "<h1>Join us</h1>" in html
    assert '<label for="id_first_name">First name:</label>' in html
    assert '<label for="id_postcode">Postcode (optional):</label>' in html
    assert "Campaign news" in html
    assert "you explicitly consent to our keeping your contact details" in html
    assert '<button type="submit" aria-describedby="consent-statement">Sign me up</button>' in html
    assert "Rejoignez-nous" not in html


def test_sign_up_errors_in_english(db: Any) -> None:
    response = Client().post(
        SIGNUP,
        {"email": "ada@example.org", "first_name": "Ada", "last_name": "Lovelace"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Tick at least one topic: that is how you give us your consent." in (
        response.content.decode()
    )


def test_every_english_string_is_translated() -> None:
    """New strings must be translated: `make messages`, translate, `make messages` again."""
    entries = read_po(EN_DIR / "django.po")
    assert len(entries) > 300  # the file was found and read
    untranslated = [
        f"django.po:{e.line}: {e.msgid!r}"
        for e in entries[1:]
        if not e.translations or any(not t.strip() for t in e.translations)
    ]
    fuzzy = [f"django.po:{e.line}: {e.msgid!r}" for e in entries if "fuzzy" in e.flags]
    assert untranslated == []
    assert fuzzy == []


def test_no_message_hedges_its_plural_with_parentheses() -> None:
    """ "1 volontaires", "adresse(s)": a count agrees with its noun through ngettext or
    {% blocktranslate count %}, in French as in English."""
    hedged = re.compile(r"\w\((?:s|es|x)\)")
    found = [
        f"django.po:{e.line}: {e.msgid!r}"
        for e in read_po(EN_DIR / "django.po")[1:]
        if hedged.search(e.msgid) or hedged.search(e.fields.get("msgid_plural", ""))
    ]
    assert found == []


def test_english_translations_keep_their_placeholders() -> None:
    def placeholders(text: str) -> list[str]:
        return sorted(PLACEHOLDER_RE.findall(text))

    for e in read_po(EN_DIR / "django.po")[1:]:
        if "msgid_plural" not in e.fields:
            assert placeholders(e.fields["msgstr"]) == placeholders(e.msgid), e.msgid
            continue
        plural = placeholders(e.fields["msgid_plural"])
        for text in e.translations:
            # The singular may spell out "one" instead of the number; it adds nothing new.
            assert set(placeholders(text)) <= set(plural), e.msgid
        assert placeholders(e.translations[-1]) == plural, e.msgid


@pytest.mark.parametrize("lang", ["en"])
def test_compiled_catalog_matches_the_po(lang: str) -> None:
    """The committed .mo is what runs on a machine without gettext: it must be up to date."""
    with (EN_DIR / "django.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    assert catalog.info().get("language") == lang
    stale = []
    for e in read_po(EN_DIR / "django.po")[1:]:
        if "msgctxt" in e.fields:
            continue
        if "msgid_plural" in e.fields:
            got = [catalog.ngettext(e.msgid, e.fields["msgid_plural"], n) for n in (1, 2)]
        else:
            got = [catalog.gettext(e.msgid)]
        if got != e.translations:
            stale.append(e.msgid)
    assert stale == [], "run `make messages` to recompile django.mo"
