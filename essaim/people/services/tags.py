"""Tags: create, rename, delete. Segments reference tags by id, so a rename keeps them; a tag a
segment uses cannot be deleted (the segment would silently change meaning)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from essaim.lib.text import clean_name
from essaim.people.models import ContactTag, Tag
from essaim.people.services.segments import SegmentInUse, segments_using_tag

MAX_TAG_LENGTH = 64


class TagNameError(ValueError):
    """An empty name, or one another tag already has."""


def _clean(name: str) -> str:
    cleaned = clean_name(name, MAX_TAG_LENGTH)
    if not cleaned:
        raise TagNameError("empty")
    return cleaned


def create_tag(*, name: str) -> Tag:
    cleaned = _clean(name)
    try:
        with transaction.atomic():
            return Tag.objects.create(name=cleaned)
    except IntegrityError as exc:
        raise TagNameError("taken") from exc


def rename_tag(*, tag: Tag, name: str) -> Tag:
    cleaned = _clean(name)
    if cleaned == tag.name:
        return tag
    tag.name = cleaned
    try:
        with transaction.atomic():
            tag.save(update_fields=["name"])
    except IntegrityError as exc:
        raise TagNameError("taken") from exc
    return tag


def tagged_count(tag: Tag) -> int:
    """How many contacts carry the tag: what deleting it would take it from."""
    return ContactTag.objects.filter(tag=tag).count()


def delete_tag(*, tag: Tag) -> int:
    """Delete a tag and its links to contacts (one DELETE); return how many contacts had it.
    Raises SegmentInUse when a saved segment filters on it."""
    with transaction.atomic():
        if users := segments_using_tag(tag.pk):
            raise SegmentInUse(users)
        untagged = tagged_count(tag)
        tag.delete()
    return untagged
