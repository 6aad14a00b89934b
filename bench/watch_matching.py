"""Benchmark: watchlist matching of ingested items with 1,000 watchlist terms, against
feedparser's parse alone of the same items, on SQLite and PostgreSQL.

    .venv/bin/python bench/watch_matching.py [--items 20000] [--terms 1000] [--runs 3]
        [--backends sqlite,postgres]
        [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

Issue 17 asks that ingest (normalization, de-duplication, stories and 1,000 watchlist terms)
keep ≥ 2,000 items/s, as a ratio to feedparser's parse alone of the same documents. This script
measures the watchlists' share of it: `match_items` (read the items and their sources, fold,
stem, run the automata, evaluate every hit watchlist's tree, bulk-insert the matches) and the
search index's (`index_items`, the FTS5 rows on SQLite; nothing to do on PostgreSQL), each over
every item, and as a reference feedparser.parse of the RSS documents the items would have come
in (50 items per feed), in the same process and run.

The text is generated French (a seeded vocabulary with accents, elisions, names and the
watchlists' terms sprinkled in at a realistic rate, so that about a third of the items match
something). The 1,000 terms are spread over 200 watchlists: 100 of names (5 names in an OR), 100
of topics (a NEAR/5 pair, a phrase, OR and NOT). Each measure is the median of `--runs`, after a
warm-up that builds the automata (their build time is reported on its own).

Results: a Markdown table on stdout and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from harness import backend_parser, db_version, log, main_over_backends

ROOT = Path(__file__).resolve().parent.parent
PG_DB = os.environ.get("BENCH_PG_DB", "bench_watch_matching")
PER_FEED = 50


def _split(text: str) -> list[str]:
    return text.split()


WORDS = _split("""gouvernement ministre réforme retraites assemblée nationale sénat député élection
élections électeurs sondage campagne candidat candidate programme débat projet loi budget
dette déficit impôts fiscalité chômage emploi travail salaire salaires pouvoir d'achat
inflation énergie électricité nucléaire climat écologie transition agriculture agriculteurs
santé hôpital hôpitaux médecins école écoles enseignants éducation université étudiants
jeunesse sécurité police justice prison immigration frontières europe européenne union
commission bruxelles allemagne italie espagne ukraine russie guerre paix défense armée
région régions département départements commune communes maire mairie conseil municipal
quartier ville villes banlieue rural ruralité transports train trains sncf grève grèves
syndicat syndicats manifestation manifestations cortège préfecture préfet décret ordonnance
motion censure vote votes scrutin majorité opposition gauche droite centre parti partis
militants meeting discours interview entretien tribune réseaux sociaux vidéo émission
plateau journal presse média médias information désinformation rumeur polémique affaire
enquête procès tribunal décision conseil constitutionnel état république président
présidentielle législatives municipales européennes régionales primaire alliance accord
coalition liste listes tête investiture logement loyers construction crise économique
croissance entreprises industrie usine usines fermeture plan social commerce prix essence
carburant péage autoroute routes sécheresse inondations tempête pompiers secours alerte
""")
FILLERS = _split("""le la les un une des du de à au aux et ou mais donc car pour par avec sans sous
sur dans entre vers chez selon après avant pendant depuis contre comme aussi très plus moins
encore déjà toujours jamais hier aujourd'hui demain cette ce ces son sa ses leur leurs notre
nos il elle ils elles on nous vous qui que dont où est sont était été sera seront a ont avait
fait faire dit dire annonce annoncé propose proposé refuse refusé demande demandé""")
ELIDED = ["l'", "d'", "qu'", "l’", "d’", "s'", "n'", "j'"]
VOWEL_WORDS = [w for w in WORDS if w[0] in "aeéiouh"]
FIRST = _split("""Marie Jean Pierre Sophie Nicolas Isabelle François Catherine Philippe Nathalie
Michel Sylvie Alain Valérie Patrick Christine Éric Sandrine Laurent Hélène Olivier Céline Stéphane
Émilie Julien Aurélie Thomas Camille Antoine Léa Mathieu Chloé Guillaume Inès Benoît Zoé
Jérôme Anaïs Frédéric Maëlle""")
LAST = _split("""Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent
Lefèvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefebvre Mercier
Dupont Lambert Bonnet François Martinez Legrand Garnier Faure Rousseau Blanc Guérin Muller Henry
Roussel Nicolas Perrin Morin Mathieu Clément Gauthier Dumont Lopez Fontaine Chevalier Robin""")


def main() -> None:
    parser = backend_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--terms", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    worker_args = ["--items", str(args.items), "--terms", str(args.terms), "--runs", str(args.runs)]
    main_over_backends(
        args,
        script=__file__,
        name="watch_matching",
        pg_db=PG_DB,
        worker_args=worker_args,
        worker=worker,
        table=table,
    )


def table(results: dict[str, Any]) -> str:
    lines = [
        "| backend | items | terms | feedparser items/s | match_items items/s | ratio | "
        "index_items items/s | matcher alone items/s | automata build s | matches |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["backends"].values():
        # PostgreSQL's GIN index is kept by the INSERT itself: nothing for index_items to do.
        index = "—" if r["vendor"] == "postgresql" else f"{r['index_items_s']:,.0f}"
        lines.append(
            f"| {r['db']} | {r['items']:,} | {r['terms']:,} | {r['feedparser_items_s']:,.0f} | "
            f"{r['match_items_s']:,.0f} | **{r['ratio']:.2f} ×** | {index} | "
            f"{r['matcher_items_s']:,.0f} | {r['build_s']:.3f} | {r['matches']:,} |"
        )
    return "\n".join(lines)


# --- The worker: one backend, its own database ---


def sentence(rng: random.Random, length: int, terms: list[str], term_rate: float) -> str:
    out: list[str] = []
    while len(out) < length:
        roll = rng.random()
        if roll < term_rate:
            out.append(rng.choice(terms))
        elif roll < 0.35:
            out.append(rng.choice(FILLERS))
        elif roll < 0.42:
            out.append(rng.choice(ELIDED) + rng.choice(VOWEL_WORDS))
        else:
            out.append(rng.choice(WORDS))
    text = " ".join(out)
    return text[0].upper() + text[1:] + "."


# Topic words that the general text does not use: they appear only where an item is about them.
RARE = _split("""vaccin vaccination cannabis laïcité burkini nucléaire éolien éoliennes glyphosate
pesticides mégabassines autoroute a69 ehpad urgences déserts médicaux pénurie médicaments
harcèlement uniforme redoublement baccalauréat parcoursup apprentissage smic rsa allocations
assurance chômage retraite anticipée cotisations dividendes superprofits taxe héritage niches
fiscales fraude évasion paradis fiscaux lobbying corruption financement illégal comptes
campagne frontex migrants naufrage lampedusa asile expulsion oqtf régularisation sans-papiers
narcotrafic fusillade règlement comptes émeutes violences policières caméras reconnaissance
faciale surveillance algorithmes intelligence artificielle désinformation ingérence étrangère
cyberattaque rançongiciel piratage fuite données""")


def make_terms(count: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Half names ("Prénom Nom"), half topics: the rare words, then two-word phrases of the
    general vocabulary (which the text forms by chance about once in a thousand positions)."""
    names = [f"{first} {last}" for first in FIRST for last in LAST]
    rng.shuffle(names)
    common = [w for w in WORDS if "'" not in w]
    pairs = [f"{a} {b}" for a in common for b in common if a != b]
    rng.shuffle(pairs)
    half = count // 2
    topics = list(dict.fromkeys(RARE))[: count - half]
    return names[:half], topics + pairs[: max(0, count - half - len(topics))]


def watchlist_queries(
    names: list[str], topics: list[str], rng: random.Random
) -> list[tuple[str, str]]:
    """200 watchlists over exactly the given terms: 5 names each, or 5 topic terms."""
    queries: list[tuple[str, str]] = []
    for start in range(0, len(names), 5):
        group = names[start : start + 5]
        queries.append(("names", " OR ".join(f'"{name}"' for name in group)))
    for start in range(0, len(topics), 5):
        group = [f'"{t}"' if " " in t else t for t in topics[start : start + 5]]
        if len(group) == 5:
            a, b, c, d, e = group
            queries.append(("topics", f"({a} NEAR/5 {b}) OR {c} OR ({d} NOT {e})"))
        else:
            queries.append(("topics", " OR ".join(group)))
    return queries


def worker(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from xml.sax.saxutils import escape

    import feedparser
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from essaim.watch.models import Item, Source, Watchlist, WatchlistMatch
    from essaim.watch.services import watchlists as wl
    from essaim.watch.services.search import index_items
    from essaim.watch.services.watchlists import item_texts

    call_command("migrate", verbosity=0)
    rng = random.Random(17)
    names, topics = make_terms(args.terms, rng)
    queries = watchlist_queries(names, topics, rng)
    Watchlist.objects.bulk_create(
        [Watchlist(name=f"Liste {n}", kind=kind, query=q) for n, (kind, q) in enumerate(queries)]
    )
    term_count = sum(_count_terms(wl, q) for _k, q in queries)
    log(f"{len(queries)} watchlists, {term_count} terms")

    sources = Source.objects.bulk_create(
        [
            Source(
                url=f"https://site{n}.exemple.fr/feed/",
                url_key=f"site{n}.exemple.fr/feed",
                title=f"Site {n}",
            )
            for n in range(args.items // PER_FEED)
        ]
    )
    # Names and topics appear in a minority of the items, as on a real day of feeds.
    sprinkled = [t.lower() if rng.random() < 0.3 else t for t in names] + topics
    rows = []
    now = timezone.now()
    for n in range(args.items):
        title = sentence(rng, rng.randint(7, 12), sprinkled, 0.01)
        summary = sentence(rng, rng.randint(35, 70), sprinkled, 0.005)
        rows.append(
            Item(
                source=sources[n // PER_FEED],
                url=f"https://site{n // PER_FEED}.exemple.fr/article-{n}/",
                url_key=f"k{n}",
                title=title,
                summary=summary,
                fetched_at=now,
                content_hash=f"{n:064d}",
            )
        )
    Item.objects.bulk_create(rows, batch_size=1000)
    ids = list(Item.objects.order_by("id").values_list("id", flat=True))
    log(f"{len(ids)} items")

    documents = []
    for start in range(0, len(rows), PER_FEED):
        entries = "".join(
            f"<item><title>{escape(r.title)}</title><link>{escape(r.url)}</link>"
            f"<description>{escape(r.summary)}</description>"
            f"<pubDate>Mon, 07 Dec 2026 10:00:00 +0000</pubDate><guid>{escape(r.url)}</guid></item>"
            for r in rows[start : start + PER_FEED]
        )
        documents.append(
            (
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Site</title><link>https://site.exemple.fr/</link>{entries}</channel></rss>"
            ).encode()
        )

    def parse_all() -> float:
        started = time.perf_counter()
        for document in documents:
            feedparser.parse(document)
        return time.perf_counter() - started

    def match_all() -> float:
        WatchlistMatch.objects.all().delete()
        started = time.perf_counter()
        wl.match_items(ids)
        return time.perf_counter() - started

    def index_all() -> float:
        started = time.perf_counter()
        for start in range(0, len(ids), 500):
            index_items(ids[start : start + 500])
        return time.perf_counter() - started

    texts = list(item_texts(Item.objects.values(*wl._ITEM_FIELDS)))

    started = time.perf_counter()
    wl._cache["key"] = None
    matcher = wl.current_matcher()
    build = time.perf_counter() - started

    def matcher_alone() -> float:
        started = time.perf_counter()
        matcher.match(texts)
        return time.perf_counter() - started

    match_all()  # warm-up
    parse_times, match_times, index_times, alone_times = [], [], [], []
    for run in range(args.runs):
        parse_times.append(parse_all())
        match_times.append(match_all())
        index_times.append(index_all())
        alone_times.append(matcher_alone())
        log(
            f"run {run + 1}: parse {parse_times[-1]:.2f} s, match {match_times[-1]:.2f} s, "
            f"index {index_times[-1]:.2f} s, matcher alone {alone_times[-1]:.2f} s"
        )
    items = len(ids)
    parse_s, match_s = statistics.median(parse_times), statistics.median(match_times)
    return {
        "db": db_version(),
        "vendor": connection.vendor,
        "items": items,
        "terms": term_count,
        "watchlists": len(queries),
        "matches": WatchlistMatch.objects.count(),
        "matched_items": WatchlistMatch.objects.values("item").distinct().count(),
        "feedparser_items_s": items / parse_s,
        "match_items_s": items / match_s,
        "ratio": (items / match_s) / (items / parse_s),
        "index_items_s": items / statistics.median(index_times),
        "matcher_items_s": items / statistics.median(alone_times),
        "build_s": build,
        "runs": {
            "parse": parse_times,
            "match": match_times,
            "index": index_times,
            "alone": alone_times,
        },
    }


def _count_terms(wl: Any, query: str) -> int:
    from essaim.watch.services.watchlists.query import terms

    return len(terms(wl.parse_query(query)))


if __name__ == "__main__":
    main()
