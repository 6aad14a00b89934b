"""Search over items, French-aware, with the same answers on both databases.

A search is a list of words that must all be in the item's title or summary, in any form of the
same French stem, with or without accents, capitals or elisions ("lefevre" finds "Lefèvre",
"élections" finds "election", "l'Assemblée" finds "assemblée"). French stop words are left out
of both the text and the search, as PostgreSQL does. Newest first.

- PostgreSQL: full text search with the `essaim_french` configuration (migration
  0003_watchlists_search: French with `unaccent` before the Snowball stemmer) over a GIN index on
  the expression below. The words we send are folded by us and stemmed by PostgreSQL, with the
  same Snowball algorithm as PyStemmer here.
- SQLite: an FTS5 table, `watch_item_search`, whose rows hold each item's stems
  (essaim.lib.french.search_terms), written set-based at ingest (`index_items`) and removed by a
  trigger when an item is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from essaim.lib.french import STOP_WORDS, search_terms, words
from essaim.watch.models import Item

# Must stay the index's expression (migration 0002) word for word, or the index is not used.
# The ASCII punctuation that PostgreSQL's parser would keep inside one token (a host
# "lemonde.fr", an address, "Covid-19" as "covid" and "-19", "élu_local") is made a space first,
# so that the document is cut into words as essaim.lib.french cuts them, and a search for
# "lemonde" or "19" answers as on SQLite.
PG_DOCUMENT = (
    "to_tsvector('essaim_french'::regconfig, "
    "regexp_replace(title || ' ' || summary, '[-./@:_+#&=?~|]', ' ', 'g'))"
)
MAX_WORDS = 20
CHUNK = 500


def index_items(item_ids: Sequence[int]) -> None:
    """Write the search rows of these items (new or changed). PostgreSQL indexes by itself."""
    if connection.vendor != "sqlite" or not item_ids:
        return
    ids = list(item_ids)
    # One transaction: outside one, every row would be a commit of its own.
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            rows = Item.objects.filter(id__in=ids[start : start + CHUNK]).values_list(
                "id", "title", "summary"
            )
            values = [
                (pk, " ".join(search_terms(f"{title}\n{summary}"))) for pk, title, summary in rows
            ]
            cursor.executemany(
                "DELETE FROM watch_item_search WHERE rowid = %s", [(pk,) for pk, _b in values]
            )
            cursor.executemany(
                "INSERT INTO watch_item_search (rowid, body) VALUES (%s, %s)", values
            )


def reindex_all() -> int:
    """Rebuild the SQLite search table from the items (after a restore, or the migration)."""
    if connection.vendor != "sqlite":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM watch_item_search")
    count = 0
    last_id = 0
    while True:
        ids = list(
            Item.objects.filter(id__gt=last_id).order_by("id").values_list("id", flat=True)[:CHUNK]
        )
        if not ids:
            return count
        index_items(ids)
        count += len(ids)
        last_id = ids[-1]


def search_items(query: str) -> QuerySet[Item]:
    """Items whose text holds every word of `query` (see the module's docstring), newest
    first. An empty search, or one made of stop words only, finds nothing."""
    found = [word for word in words(query) if word not in STOP_WORDS][:MAX_WORDS]
    if not found:
        return Item.objects.none()
    if connection.vendor == "postgresql":
        # Folded words only ([^\W_]+): nothing in them is to_tsquery syntax.
        tsquery = " & ".join(found)
        matching = RawSQL(  # noqa: S611 - the search is a parameter
            f"SELECT id FROM watch_item WHERE {PG_DOCUMENT} @@ to_tsquery('essaim_french', %s)",  # noqa: S608 - a constant
            [tsquery],
        )
    else:
        stems = search_terms(" ".join(found))
        fts = " ".join(f'"{stem}"' for stem in stems)
        matching = RawSQL(
            "SELECT rowid FROM watch_item_search WHERE watch_item_search MATCH %s", [fts]
        )
    return Item.objects.filter(id__in=matching).order_by("-id")
