"""Searching the contact list (HTML and API), and the budget of a coordinator's reveals.

A coordinator sees e-mail addresses and phone numbers masked. Their search only matches what
they see in clear (last name, postcode): a query that is a phone number or an e-mail address is
refused, since an exact match would tell whether a guessed number or address is in the base
(hundreds of guesses a second). Each refusal is audited with the query and spends the same budget
as a "Révéler" (CONTACT_REVEAL_RATE_LIMIT per coordinator), so a run of guesses is both cut off
and visible in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from essaim.accounts.services import audit
from essaim.lib import ratelimit
from essaim.people import rules
from essaim.people.models import ContactQuerySet, masked_field_searched
from essaim.people.services.zones import town_postcodes

REVEAL_SCOPE = "contact.reveal"
QUERY_MAX_LENGTH = 254  # the longest address; the list page cuts at 200 itself


class SearchRefused(Exception):
    """A search on a field masked for this user (`field`: "phone" or "email"); `retry_after`
    is non-zero when the user's reveal budget is spent as well."""

    def __init__(self, field: str, *, retry_after: int = 0) -> None:
        super().__init__(field)
        self.field = field
        self.retry_after = retry_after


def spend_reveal(user: Any) -> ratelimit.Decision:
    """Count one reveal (or one refused search on a masked field) of `user`."""
    return ratelimit.hit(REVEAL_SCOPE, str(user.pk), settings.CONTACT_REVEAL_RATE_LIMIT)


# A search's total is counted up to this many: past it the list says "more than", so that a
# common word or domain does not cost a count of the whole base on every page.
SEARCH_COUNT_CAP = 10_000


def count_found(contacts: ContactQuerySet, *, searched: bool) -> tuple[int, bool]:
    """How many contacts the list shows, and whether that figure is exact: the whole visible
    base is counted, a search's results only up to SEARCH_COUNT_CAP (without the list's order,
    so the database picks the cheapest plan)."""
    if not searched:
        return contacts.count(), True
    found = contacts.order_by()[: SEARCH_COUNT_CAP + 1].count()
    return min(found, SEARCH_COUNT_CAP), found <= SEARCH_COUNT_CAP


def search_contacts(
    *, contacts: ContactQuerySet, user: Any, query: str, request: HttpRequest | None = None
) -> ContactQuerySet:
    """`contacts` (already limited to what `user` may see) narrowed by `query`.

    For a user who sees contacts masked, a phone number or an e-mail address raises
    SearchRefused after an audit entry ("contact.search_refused", with the query) and one hit on
    the reveal budget. Refused rather than treated as a reveal: a reveal by search would still
    confirm a guessed number is in the base, while a refusal discloses nothing and a coordinator
    finds the person by name and uses "Révéler" on the contact page."""
    query = query.strip()[:QUERY_MAX_LENGTH]
    if not query:
        return contacts
    masked = not rules.sees_contacts_unmasked(user)
    field = masked_field_searched(query) if masked else ""
    if field:
        decision = spend_reveal(user)
        audit(
            action="contact.search_refused",
            actor=user,
            request=request,
            query=query,
            field=field,
            rate_limited=not decision.allowed,
        )
        raise SearchRefused(field, retry_after=decision.retry_after)
    return contacts.search(query, masked=masked, town_postcodes=town_postcodes(query))
