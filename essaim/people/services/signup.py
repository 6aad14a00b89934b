"""The double opt-in, written once, and the base's public sign-up, its first user.

A double opt-in (class DoubleOptIn) writes nothing when someone fills a form: the request
travels in the link sent to the address, sealed (encrypted and authenticated,
essaim.lib.sealing: the link shows no email, name, phone or postcode to the mail scanners,
proxies and logs it passes through), and only the confirmation (a POST from that link) writes.
So the form answers the same way whether the address is known, unknown or suppressed, and a typo
or a malicious sign-up of someone else's address leaves no trace in the base. The base's sign-up
(SIGNUP) creates or completes the contact with the consents asked for; "Je m'engage"
(essaim.army.services.signup) is the same flow with its own request, link, mail and a
confirmation that also makes the volunteer. The pages of a flow are in essaim.people.views.signup.

Links of the earlier format (signed but readable) are still accepted until they expire
(SIGNUP_CONFIRM_MAX_AGE after they were sent): they are already in mailboxes, refusing them would
only lose sign-ups. Their reader can go once every such link has expired.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, Protocol

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from essaim.lib import sealing
from essaim.lib.text import normalize_email
from essaim.people.models import Consent, Contact, Purpose
from essaim.people.services.contacts import (
    ConsentGrant,
    ContactData,
    clean_contact_data,
    record_event,
    upsert_contact,
)
from essaim.people.services.suppression import blocks_own_return, lift_for_own_return

log = logging.getLogger(__name__)

SIGNUP_SALT = "essaim.signup"  # links of the earlier, readable format (signed only)
SIGNUP_SEAL_PURPOSE = "essaim.signup.confirmation"
# The consent statement shown on the form, by version: recorded with each consent as proof of
# what the person agreed to. Change the version whenever the wording changes.
CONSENT_STATEMENT_VERSION = "signup-statement-v1"
SIGNUP_SUBJECT = gettext_lazy("Confirmez votre inscription")


class InvalidLink(Exception):
    """The confirmation link was not made by us or was altered."""


class ExpiredLink(InvalidLink):
    """The confirmation link is genuine but older than SIGNUP_CONFIRM_MAX_AGE."""


class OptInRequest(Protocol):
    """What a double opt-in's link carries: a frozen dataclass with at least these fields."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def email(self) -> str: ...

    @property
    def first_name(self) -> str: ...

    @property
    def requested_at(self) -> datetime: ...


@dataclass(frozen=True)
class DoubleOptIn[R: OptInRequest]:
    """One double opt-in: the request its link carries, how the link is sealed and read, the page
    it opens and the mail that brings it. What the confirmation writes is the caller's (the
    base's confirm_signup, the volunteers' confirm_enlistment)."""

    seal_purpose: str  # sealing purpose: a link of one flow opens nothing in another
    legacy_salt: str  # the signer's salt of the links of the earlier, readable format
    confirm_url: str  # the name of the confirmation page's URL, which takes the token
    subject: Promise  # the mail's subject, translated into the person's language
    mail_templates: str  # the mail's .txt and .html share this name
    # The request from an opened link's payload; raises InvalidLink when it is not one, and may
    # raise AttributeError, KeyError, TypeError or ValueError (ours, by another version).
    parse: Callable[[Any], R]

    def token(self, request: R) -> str:
        payload = asdict(request)  # type: ignore[call-overload]
        payload["requested_at"] = request.requested_at.isoformat()
        return sealing.seal_object(payload, purpose=self.seal_purpose)

    def read(self, token: str) -> R:
        """The request a link carries; raises ExpiredLink or InvalidLink."""
        legacy_signer = signing.TimestampSigner(salt=self.legacy_salt)
        payload = open_link(token, purpose=self.seal_purpose, legacy_signer=legacy_signer)
        try:
            return self.parse(payload)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise InvalidLink from exc

    def url(self, request: R) -> str:
        path = reverse(self.confirm_url, kwargs={"token": self.token(request)})
        return f"{settings.SITE_URL}{path}"

    def request(self, request: R, *, send: Callable[..., object], language: str) -> None:
        """Have the link mailed, after the current transaction commits, by `send` (a mail task's
        enqueue, called with the address, the link, first_name= and language=; the task calls
        send_mail).

        Does exactly the same work for every address: whether it is known, unknown or suppressed
        is decided by the mail task, out of the request, so neither the page nor its timing tells.
        """
        transaction.on_commit(
            partial(
                send,
                request.email,
                self.url(request),
                first_name=request.first_name,
                language=language,
            )
        )

    def send_mail(self, *, email: str, url: str, first_name: str = "", language: str) -> bool:
        """Mail the link, unless the address is suppressed for good. True if a mail went out."""
        return send_confirmation_mail(
            email=email,
            url=url,
            first_name=first_name,
            language=language,
            subject=self.subject,
            templates=self.mail_templates,
        )


@dataclass(frozen=True)
class SignupRequest:
    """What the person asked for, carried sealed by the confirmation link (nothing is stored)."""

    email: str
    first_name: str
    last_name: str
    postcode: str
    phone: str
    purposes: tuple[str, ...]
    ip: str | None
    user_agent: str
    requested_at: datetime


@dataclass(frozen=True)
class Confirmation:
    contact: Contact
    created: bool
    granted: list[str]  # purposes whose consent this confirmation raised to granted


def unsign_link(signer: signing.TimestampSigner, token: str) -> Any:
    """The payload of a link of the earlier format signed by `signer`, at most
    SIGNUP_CONFIRM_MAX_AGE old; raises ExpiredLink or InvalidLink."""
    try:
        return signer.unsign_object(token, max_age=settings.SIGNUP_CONFIRM_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ExpiredLink from exc
    except signing.BadSignature as exc:
        raise InvalidLink from exc


def open_link(token: str, *, purpose: str, legacy_signer: signing.TimestampSigner) -> Any:
    """The payload of a confirmation link: sealed for `purpose`, or (a ":" shows it: base64
    has none) of the earlier signed format; raises ExpiredLink or InvalidLink."""
    if ":" in token:
        return unsign_link(legacy_signer, token)
    try:
        return sealing.unseal_object(
            token, purpose=purpose, max_age=settings.SIGNUP_CONFIRM_MAX_AGE
        )
    except sealing.SealExpired as exc:
        raise ExpiredLink from exc
    except sealing.BadSeal as exc:
        raise InvalidLink from exc


def _parse_signup(payload: Any) -> SignupRequest:
    purposes = tuple(str(p) for p in payload["purposes"])
    if not purposes or not set(purposes) <= set(Purpose.values):
        raise InvalidLink
    return SignupRequest(
        email=str(payload["email"]),
        first_name=str(payload["first_name"]),
        last_name=str(payload["last_name"]),
        postcode=str(payload["postcode"]),
        phone=str(payload["phone"]),
        purposes=purposes,
        ip=payload["ip"] if payload["ip"] is None else str(payload["ip"]),
        user_agent=str(payload["user_agent"]),
        requested_at=datetime.fromisoformat(payload["requested_at"]),
    )


# The base's public sign-up ("/inscription/").
SIGNUP: DoubleOptIn[SignupRequest] = DoubleOptIn(
    seal_purpose=SIGNUP_SEAL_PURPOSE,
    legacy_salt=SIGNUP_SALT,
    confirm_url="public:signup_confirm",
    subject=SIGNUP_SUBJECT,
    mail_templates="people/mail/signup_confirmation",
    parse=_parse_signup,
)


def make_confirmation_token(signup: SignupRequest) -> str:
    return SIGNUP.token(signup)


def signup_request(
    *, data: ContactData, purposes: Sequence[str], ip: str | None, user_agent: str
) -> SignupRequest:
    """The request of someone who filled the sign-up form now."""
    return SignupRequest(
        email=data.email,
        first_name=data.first_name,
        last_name=data.last_name,
        postcode=data.postcode,
        phone=data.phone,
        purposes=tuple(p for p in Purpose.values if p in set(purposes)),
        ip=ip,
        user_agent=user_agent[:300],
        requested_at=timezone.now(),
    )


def send_confirmation_mail(
    *,
    email: str,
    url: str,
    first_name: str = "",
    language: str,
    subject: Promise | str = SIGNUP_SUBJECT,
    templates: str = "people/mail/signup_confirmation",
) -> bool:
    """Mail the confirmation link, unless the address is suppressed for good. True if a mail
    went out. `subject` (lazy, translated into `language`) and `templates` (the .txt and .html
    share this name) let another double opt-in (the volunteers') send its own words.

    A known address gets a new confirmation like anyone else: confirming again is harmless and
    is how a subscriber adds a purpose, and the person learns nothing they did not already know.
    Someone who unsubscribed from everything gets it too: it answers their own request, and
    confirming it is how they come back.
    """
    _, key = normalize_email(email)
    if blocks_own_return(key):
        log.info("sign-up confirmation not sent: the address is on the suppression list")
        return False
    context: dict[str, Any] = {
        "first_name": first_name,
        "url": url,
        "days": max(1, settings.SIGNUP_CONFIRM_MAX_AGE // 86400),
    }
    send_templated_mail(
        email=email, subject=subject, templates=templates, context=context, language=language
    )
    return True


def send_templated_mail(
    *,
    email: str,
    subject: Promise | str,
    templates: str,
    context: dict[str, Any],
    language: str,
    subject_params: dict[str, Any] | None = None,
) -> None:
    """One transactional mail from the campaign (DEFAULT_FROM_EMAIL, Django's mail settings):
    `templates`.txt and `templates`.html rendered in `language`, the subject translated there
    too (then formatted with `subject_params`). The caller decides whether the address may be
    mailed at all; the double opt-in mails of the base, of the volunteers and of invitations
    all leave through here."""
    context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        title = str(subject)
        if subject_params:
            title = title % subject_params
        text = render_to_string(f"{templates}.txt", context)
        html = render_to_string(f"{templates}.html", context)
    message = EmailMultiAlternatives(
        title, text, to=[email], headers={"Auto-Submitted": "auto-generated"}
    )
    message.attach_alternative(html, "text/html")
    message.send()


def confirm_signup(
    *,
    signup: SignupRequest,
    ip: str | None,
    user_agent: str,
    statement: str = CONSENT_STATEMENT_VERSION,
    event: str = "signup_confirmed",
    source: str = Consent.Source.SIGNUP_FORM,
    source_ref: str = "",
    proof: dict[str, Any] | None = None,
) -> Confirmation | None:
    """The person clicked "confirm": create or complete the contact with explicit consent.

    Idempotent: confirming twice changes nothing the second time. A purpose the person withdrew
    after asking for it stays withdrawn (the later act wins), and None is returned when nothing
    is left to grant. Raises SuppressedAddress if the address was suppressed meanwhile, and
    InvalidValue if the data no longer validates (a postcode removed from the reference data).
    `statement` names the consent wording the person saw (another form, e.g. the volunteers',
    has its own), `event` the timeline event that records the proof; `source` and `source_ref`
    what the consent records came from (the form's statement by default; a call for volunteers
    names itself), `proof` what else the event keeps.
    """
    data = clean_contact_data(
        email=signup.email,
        first_name=signup.first_name,
        last_name=signup.last_name,
        phone=signup.phone,
        postcode=signup.postcode,
    )
    now = timezone.now()
    with transaction.atomic():
        status_before = dict(
            Consent.objects.filter(contact__email_key=data.email_key).values_list(
                "purpose", "status"
            )
        )
        withdrawn_since = set(
            Consent.objects.filter(
                contact__email_key=data.email_key, withdrawn_at__gt=signup.requested_at
            ).values_list("purpose", flat=True)
        )
        purposes = [p for p in signup.purposes if p not in withdrawn_since]
        if not purposes:
            return None
        grants = [
            ConsentGrant(
                purpose=purpose,
                basis=Consent.Basis.EXPLICIT_CONSENT,
                source=source,
                source_ref=source_ref or statement,
                ip=signup.ip,
                user_agent=signup.user_agent,
                confirmed_at=now,
            )
            for purpose in purposes
        ]
        lifted = lift_for_own_return(email_key=data.email_key, asked_at=signup.requested_at)
        contact, created = upsert_contact(data=data, consents=grants, source="signup")
        if lifted:
            record_event(contact, "suppression_lifted", reason="own confirmed sign-up")
        granted = [p for p in purposes if status_before.get(p) != Consent.Status.GRANTED]
        if granted:
            # The proof of the double opt-in: when it was asked, from where, and the click.
            record_event(
                contact,
                event,
                purposes=granted,
                statement=statement,
                requested_at=signup.requested_at.isoformat(),
                requested_ip=signup.ip,
                requested_user_agent=signup.user_agent,
                confirmed_ip=ip,
                confirmed_user_agent=user_agent[:300],
                **(proof or {}),
            )
    return Confirmation(contact=contact, created=created, granted=granted)
