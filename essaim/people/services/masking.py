"""Masked forms of a contact's e-mail address and phone number, for coordinators.

A coordinator sees enough to recognize a person they already know (`m•••@g•••.com`,
`+33 6 •• •• •• 78`) and nothing that could be copied into another tool; the clear value needs a
"Révéler", which is logged.
"""

from __future__ import annotations

import phonenumbers

DOTS = "•••"


def mask_email(email: str, *, keep_domain: bool = False) -> str:
    """`marie.dupont@gmail.com` → `m•••@g•••.com`, or `m•••@gmail.com` with `keep_domain` (the
    unsubscribe page: enough for the person to recognize their address, not for whoever a
    forwarded mail reaches to learn it)."""
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        return DOTS if email else ""
    if keep_domain:
        return f"{local[0]}{DOTS}@{domain}"
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""
    return f"{local[0]}{DOTS}@{host[:1]}{DOTS}{dot}{tld}"


def mask_phone(phone: str) -> str:
    """`+33612345678` → `+33 6 •• •• •• 78`; other countries keep their code and last two
    digits."""
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return f"{phone[:2]}{DOTS}{phone[-2:]}" if len(phone) > 4 else DOTS
    national = str(number.national_number)
    if len(national) < 4:
        return f"+{number.country_code} {DOTS}"
    if number.country_code == 33 and len(national) == 9:
        return f"+33 {national[0]} •• •• •• {national[-2:]}"
    return f"+{number.country_code} {DOTS} {national[-2:]}"
