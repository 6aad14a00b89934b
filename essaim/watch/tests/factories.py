"""Test factories for the watch (factory_boy).

SourceFactory.create(url="https://blog.exemple.fr/feed/", status="failing")
ItemFactory.create(source=source, title="Un titre")
"""

from __future__ import annotations

import factory
from django.utils import timezone

from essaim.watch.models import FetchLog, Item, Source
from essaim.watch.services.feeds import content_hash
from essaim.watch.services.urls import url_key


class SourceFactory(factory.django.DjangoModelFactory[Source]):
    class Meta:
        model = Source

    url = factory.Sequence(lambda n: f"https://blog{n}.exemple.fr/feed/")
    url_key = factory.LazyAttribute(lambda o: url_key(o.url))
    title = factory.Sequence(lambda n: f"Blog n°{n}")
    media_type = "blog"
    zone = "75"


class ItemFactory(factory.django.DjangoModelFactory[Item]):
    class Meta:
        model = Item

    source = factory.SubFactory(SourceFactory)
    url = factory.Sequence(lambda n: f"https://blog.exemple.fr/billet-{n}/")
    # An item without a link is known by its guid, as the parser keys it.
    guid = factory.Sequence(lambda n: f"billet-{n}")
    url_key = factory.LazyAttribute(lambda o: url_key(o.url) if o.url else f"guid:{o.guid}")
    title = factory.Sequence(lambda n: f"Billet n°{n}")
    summary = "Un résumé."
    content_hash = factory.LazyAttribute(lambda o: content_hash(o.title, o.summary))
    published_at = factory.LazyFunction(timezone.now)


class FetchLogFactory(factory.django.DjangoModelFactory[FetchLog]):
    class Meta:
        model = FetchLog

    source = factory.SubFactory(SourceFactory)
    outcome = "ok"
    http_status = 200
