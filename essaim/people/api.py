"""The base over JSON: contacts, tags, segments (mounted at /api/v1/).

Thin handlers: TokenAuth has already authenticated, rate-limited and authorized the request
(see essaim.api.auth); a handler parses, calls a people service and shapes the answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Prefetch
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from essaim.accounts.services import audit
from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError, ErrorOut, field_error
from essaim.api.models import Scope
from essaim.api.services import people_allowance, record_people_read
from essaim.lib.pagination import api_page
from essaim.lib.text import clean_name
from essaim.people import rules
from essaim.people.models import Consent, Contact, ContactTag, Purpose, Segment, Tag
from essaim.people.services import tags as tag_service
from essaim.people.services.contact_search import SearchRefused, search_contacts
from essaim.people.services.contacts import (
    ConsentGrant,
    InvalidField,
    NoLegalBasis,
    SuppressedAddress,
    clean_contact_data,
    upsert_contact,
)
from essaim.people.services.gdpr import access_report, erase_contact
from essaim.people.services.masking import mask_email, mask_phone
from essaim.people.services.segments import (
    SegmentDefinitionError,
    SegmentInUse,
    count_segment,
    save_segment,
    saved_segment_queryset,
)

# Who may call what. Coordinators read contacts (their zones, masked); the rest of the base
# (writes, GDPR, tags, segments) is HQ's (rules.can_manage_base). Every operation that returns
# contacts needs the contacts:read scope, counts against the token's daily budget of people and
# writes one audit entry (essaim.api.services.record_people_read).
read_contacts = TokenAuth(rules.can_view_contacts, Scope.CONTACTS_READ, reads_people=True)
read_contacts_gdpr = TokenAuth(rules.can_manage_base, Scope.CONTACTS_READ, reads_people=True)
read_base = TokenAuth(rules.can_manage_base, Scope.READ)
write_base = TokenAuth(rules.can_manage_base, Scope.WRITE)

router = Router(tags=["base"])

MAX_PAGE = 500
MAX_ID = 2**63 - 1  # beyond, the database cannot hold it: a forged id or cursor, not a 500

_ERRORS: dict[int, Any] = {code: ErrorOut for code in (401, 403, 429)}
_NOT_FOUND: dict[int, Any] = {**_ERRORS, 404: ErrorOut, 422: ErrorOut}


# --- Schemas ------------------------------------------------------------------------------------


class ConsentOut(Schema):
    purpose: str
    status: str
    basis: str
    source: str
    confirmed_at: datetime | None
    withdrawn_at: datetime | None
    created_at: datetime


class ContactOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    postcode: str
    departement: str
    region: str
    source: str
    created_at: datetime
    updated_at: datetime
    tags: list[str]
    masked: bool = Field(description="True when email and phone are masked (coordinators).")


class ContactDetail(ContactOut):
    consents: list[ConsentOut]


class ContactPage(Schema):
    items: list[ContactOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


class ConsentIn(Schema):
    purpose: Purpose
    basis: Consent.Basis


class ContactIn(Schema):
    email: str = Field(max_length=320)
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)
    phone: str = Field("", max_length=30)
    postcode: str = Field("", max_length=10)
    tags: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=50, description="Added; never removed by a PUT."
    )
    consents: list[ConsentIn] = Field(
        default_factory=list,
        max_length=len(Purpose.values),
        description="Required for a new contact: no contact without a legal basis.",
    )


class TagOut(Schema):
    id: int
    name: str
    contacts: int


class TagIn(Schema):
    name: str = Field(max_length=64)


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    last_count: int | None
    last_counted_at: datetime | None


class SegmentDetail(SegmentOut):
    definition: dict[str, Any]
    count: int


class SegmentIn(Schema):
    name: str = Field(min_length=1, max_length=150)
    description: str = Field("", max_length=300)
    definition: dict[str, Any] = Field(
        default_factory=dict, description="See essaim.people.services.segments."
    )


# --- Contacts -----------------------------------------------------------------------------------


def _contact(contact: Contact, *, masked: bool, tags: list[str]) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "email": mask_email(contact.email) if masked else contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "phone": mask_phone(contact.phone) if masked else contact.phone,
        "postcode": contact.postcode,
        "departement": contact.departement,
        "region": contact.region,
        "source": contact.source,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "tags": tags,
        "masked": masked,
    }


def _detail(contact: Contact, *, masked: bool) -> dict[str, Any]:
    consents = Consent.objects.filter(contact=contact).order_by("purpose")
    return {
        **_contact(contact, masked=masked, tags=_tag_names(contact)),
        "consents": [
            {
                "purpose": c.purpose,
                "status": c.status,
                "basis": c.basis,
                "source": c.source,
                "confirmed_at": c.confirmed_at,
                "withdrawn_at": c.withdrawn_at,
                "created_at": c.created_at,
            }
            for c in consents
        ],
    }


def _tag_names(contact: Contact) -> list[str]:
    return sorted(contact.tags.values_list("name", flat=True))


def _visible_contact(request: HttpRequest, contact_id: int) -> Contact:
    # Another zone's contact is a 404, not a 403: a coordinator learns nothing about it.
    contact = Contact.objects.visible_to(token_of(request).user).filter(pk=contact_id).first()
    if contact is None:
        raise ApiError(404, "No such contact.")
    return contact


@router.get("/contacts", response={200: ContactPage, 422: ErrorOut, **_ERRORS}, auth=read_contacts)
def list_contacts(
    request: HttpRequest,
    after: int | None = Query(
        None, ge=1, le=MAX_ID, description="Cursor: the `next` of the previous page."
    ),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
    q: str = Query(
        "",
        max_length=254,
        description="Address, phone, postcode or last-name prefix; coordinators (masked) may "
        "search names and postcodes only: a phone or an address is 422, audited and counted "
        "as a reveal (429 beyond CONTACT_REVEAL_RATE_LIMIT).",
    ),
    segment: int | None = Query(
        None, ge=1, le=MAX_ID, description="Only the contacts of this segment."
    ),
    tag: str = Query("", max_length=64, description="Only the contacts with this tag."),
) -> dict[str, Any]:
    """Contacts, newest first, a keyset page at a time: the same cost at any depth. A page
    never holds more people than the token may still read today."""
    token = token_of(request)
    user = token.user
    masked = not rules.sees_contacts_unmasked(user)
    limit = min(limit, people_allowance(token))
    contacts = Contact.objects.visible_to(user)
    try:
        contacts = search_contacts(contacts=contacts, user=user, query=q, request=request)
    except SearchRefused as refused:
        if refused.retry_after:
            raise ApiError(
                429,
                "Too many refused searches or reveals for this user; "
                f"retry in {refused.retry_after} s.",
                headers={"Retry-After": str(refused.retry_after)},
            ) from None
        raise field_error(
            "q", "Phone numbers and addresses are masked for you: search by name or postcode."
        ) from None
    if tag:
        contacts = contacts.filter(
            Exists(ContactTag.objects.filter(contact=OuterRef("pk"), tag__name=tag))
        )
    if segment is not None:
        # The contact list page's rule: only those who manage the base filter by a segment. To
        # anyone else every id is unknown, with the same answer, so ids cannot be probed.
        saved = Segment.objects.filter(pk=segment).first() if rules.can_manage_base(user) else None
        if saved is None:
            raise ApiError(404, "No such segment.")
        try:
            members = saved_segment_queryset(saved)
        except SegmentDefinitionError as exc:
            raise field_error("segment", f"This segment cannot be compiled: {exc}") from exc
        contacts = contacts.filter(pk__in=members.values("pk"))
    page = api_page(
        contacts.prefetch_related(
            Prefetch("tags", queryset=Tag.objects.only("name").order_by("name"))
        ),
        after=after,
        limit=limit,
        item=lambda c: _contact(c, masked=masked, tags=[t.name for t in c.tags.all()]),
    )
    record_people_read(
        token=token,
        request=request,
        action="contacts.read",
        count=len(page["items"]),
        masked=masked,
        query={
            k: v
            for k, v in {"q": q.strip(), "tag": tag, "segment": segment, "after": after}.items()
            if v
        }
        | {"limit": limit},
    )
    return page


@router.get("/contacts/{id}", response={200: ContactDetail, **_NOT_FOUND}, auth=read_contacts)
def get_contact(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    token = token_of(request)
    contact = _visible_contact(request, id)
    masked = not rules.sees_contacts_unmasked(token.user)
    detail = _detail(contact, masked=masked)
    record_people_read(
        token=token,
        request=request,
        action="contacts.read",
        count=1,
        obj=contact,
        masked=masked,
        query={"id": id},
    )
    return detail


@router.put(
    "/contacts",
    response={200: ContactDetail, 201: ContactDetail, 409: ErrorOut, 422: ErrorOut, **_ERRORS},
    auth=write_base,
)
def put_contact(request: HttpRequest, payload: ContactIn) -> Status[dict[str, Any]]:
    """Create the contact with this address, or update it: non-empty fields replace the stored
    ones (an empty field leaves it as it is), tags are added, consent only goes up. A new contact
    needs `consents`, recorded with source "api" and the token's prefix as proof. 201 when
    created, 200 when updated."""
    token = token_of(request)
    try:
        data = clean_contact_data(
            email=payload.email,
            first_name=payload.first_name,
            last_name=payload.last_name,
            phone=payload.phone,
            postcode=payload.postcode,
        )
    except InvalidField as exc:
        raise field_error(exc.field, exc.message) from exc
    grants = [
        ConsentGrant(
            purpose=c.purpose, basis=c.basis, source=Consent.Source.API, source_ref=token.prefix
        )
        for c in payload.consents
    ]
    try:
        contact, created = upsert_contact(
            data=data,
            consents=grants,
            source=Consent.Source.API,
            tags=payload.tags,
            actor=token.user,
            overwrite=True,
        )
    except NoLegalBasis as exc:
        raise field_error(
            "consents", "A new contact needs at least one consent (purpose and legal basis)."
        ) from exc
    except SuppressedAddress as exc:
        raise ApiError(
            409,
            "This address is on the suppression list (unsubscribed, erased, bounced or "
            "reported): it cannot be added to the base again.",
            code="suppressed",
        ) from exc
    return Status(201 if created else 200, _detail(contact, masked=False))


@router.delete("/contacts/{id}", response={204: None, **_NOT_FOUND}, auth=write_base, tags=["gdpr"])
def delete_contact(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> Status[None]:
    """GDPR erasure (art. 17): delete everything about the person; only the hash of the
    address stays, on the suppression list, so they are never added or mailed again."""
    token = token_of(request)
    contact = _visible_contact(request, id)
    erase_contact(contact, actor=token.user, request=request, token=token.prefix)
    return Status(204, None)


@router.get(
    "/contacts/{id}/gdpr",
    response={200: dict[str, Any], **_NOT_FOUND},
    auth=read_contacts_gdpr,
    tags=["gdpr"],
)
def contact_gdpr_report(
    request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    """GDPR access report (art. 15): everything Essaim holds about the person."""
    token = token_of(request)
    contact = _visible_contact(request, id)
    report = access_report(contact)
    record_people_read(
        token=token, request=request, action="contact.access_export", count=1, obj=contact
    )
    return report


# --- Tags ---------------------------------------------------------------------------------------


@router.get("/tags", response={200: list[TagOut], **_ERRORS}, auth=read_base)
def list_tags(request: HttpRequest) -> list[dict[str, Any]]:
    # One GROUP BY over contact-tag pairs, answered from the (tag, contact) index.
    tags = Tag.objects.annotate(n=Count("contacttag")).order_by("name").values("pk", "name", "n")
    return [{"id": t["pk"], "name": t["name"], "contacts": t["n"]} for t in tags]


@router.post(
    "/tags", response={201: TagOut, 409: ErrorOut, 422: ErrorOut, **_ERRORS}, auth=write_base
)
def create_tag(request: HttpRequest, payload: TagIn) -> Status[dict[str, Any]]:
    name = clean_name(payload.name, 64)
    if not name:
        raise field_error("name", "A tag needs a name.")
    try:
        with transaction.atomic():
            tag = Tag.objects.create(name=name)
    except IntegrityError as exc:
        raise ApiError(409, f"The tag {name!r} already exists.", code="exists") from exc
    return Status(201, {"id": tag.pk, "name": tag.name, "contacts": 0})


@router.delete(
    "/tags/{path:name}", response={204: None, 409: ErrorOut, **_NOT_FOUND}, auth=write_base
)
def delete_tag(request: HttpRequest, name: str) -> Status[None]:
    """Delete the tag and remove it from every contact; refused (409) while a saved segment
    uses it."""
    token = token_of(request)
    with transaction.atomic():
        tag = Tag.objects.select_for_update().filter(name=name).first()
        if tag is None:
            raise ApiError(404, "No such tag.")
        tag_id = tag.pk
        try:
            untagged = tag_service.delete_tag(tag=tag)
        except SegmentInUse as exc:
            raise ApiError(
                409,
                "Segments use this tag: " + ", ".join(s.name for s in exc.segments),
                code="in_use",
                details={"segments": [s.pk for s in exc.segments]},
            ) from exc
        audit(
            action="tag.delete",
            actor=token.user,
            request=request,
            object_type="people.tag",
            object_id=tag_id,
            name=name,
            contacts=untagged,
            token=token.prefix,
        )
    return Status(204, None)


# --- Segments -----------------------------------------------------------------------------------


def _segment(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.pk,
        "name": segment.name,
        "description": segment.description,
        "last_count": segment.last_count,
        "last_counted_at": segment.last_counted_at,
    }


def _definition_error(exc: SegmentDefinitionError) -> ApiError:
    return ApiError(
        422,
        "The segment definition is invalid.",
        details=[
            {"field": f"definition.{i.path}" if i.path else "definition", "message": i.message}
            for i in exc.issues
        ],
    )


@router.get("/segments", response={200: list[SegmentOut], **_ERRORS}, auth=read_base)
def list_segments(request: HttpRequest) -> list[dict[str, Any]]:
    return [_segment(s) for s in Segment.objects.order_by("name")]


@router.get("/segments/{id}", response={200: SegmentDetail, **_NOT_FOUND}, auth=read_base)
def get_segment(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    """The segment with a fresh `count` (also saved as `last_count`)."""
    segment = Segment.objects.filter(pk=id).first()
    if segment is None:
        raise ApiError(404, "No such segment.")
    try:
        count = count_segment(segment)
    except SegmentDefinitionError as exc:  # a segment it includes was changed since
        raise _definition_error(exc) from exc
    return {**_segment(segment), "definition": segment.definition, "count": count}


@router.post(
    "/segments",
    response={201: SegmentDetail, 409: ErrorOut, 422: ErrorOut, **_ERRORS},
    auth=write_base,
)
def create_segment(request: HttpRequest, payload: SegmentIn) -> Status[dict[str, Any]]:
    name = clean_name(payload.name)
    if not name:
        raise field_error("name", "A segment needs a name.")
    if Segment.objects.filter(name=name).exists():
        raise ApiError(409, f"A segment named {name!r} already exists.", code="exists")
    try:
        segment = save_segment(
            name=name,
            description=clean_name(payload.description, 300),
            definition=payload.definition,
            user=token_of(request).user,
        )
    except SegmentDefinitionError as exc:
        raise _definition_error(exc) from exc
    except IntegrityError as exc:  # the same name, created meanwhile
        raise ApiError(409, f"A segment named {name!r} already exists.", code="exists") from exc
    detail = {**_segment(segment), "definition": segment.definition, "count": segment.last_count}
    return Status(201, detail)
