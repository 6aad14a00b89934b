"""`{{ campaign.subject|readable_subject }}`: a personalized subject with its fields named."""

from __future__ import annotations

from django import template

from essaim.mailing import subjects

register = template.Library()


@register.filter
def readable_subject(subject: str) -> str:
    return subjects.readable_subject(subject)
