"""What the demo's watch reads: its sources, their items, the watchlists HQ wrote.

Invented texts about an invented campaign: the candidate Hélène Garnier, her opponents Paul
Renaud and Sophie Lacombe. Some stories were told by several sources: an original, then copies
word for word or cut and retitled (reprints), as regional sites take up each other's news. An
item's date is `(days ago, hour)`: the hour of that day (local time) for days ago ≥ 1, so that
the story's days do not depend on the hour of the run, or `(0, hours)`: that many hours before
the run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

When = tuple[int, float]

# A feed brings an item this long after it went online (the demo's polls are not instant).
FETCH_DELAY = dt.timedelta(minutes=45)


@dataclass(frozen=True)
class DemoItem:
    title: str
    summary: str
    when: When
    # False: the feed gives no date (many do not), and the watch dates the item by its poll.
    dated: bool = True


@dataclass(frozen=True)
class DemoSource:
    url: str
    title: str
    site: str
    media_type: str
    camp: str
    zone: str
    status: str
    error: str
    # Items keep their place in the tuple (their address is its rank): new ones go at the end,
    # so that a base filled by an earlier demo gets them and keeps its own.
    items: tuple[DemoItem, ...]


@dataclass(frozen=True)
class DemoWatchlist:
    name: str
    kind: str
    query: str
    labels: tuple[str, ...]


WATCHLISTS = (
    DemoWatchlist("Hélène Garnier", "names", '"Hélène Garnier" OR Garnier', ("candidate",)),
    DemoWatchlist("Adversaires", "names", '"Paul Renaud" OR "Sophie Lacombe"', ("adversaires",)),
    DemoWatchlist(
        "Logement, école, transports",
        "topics",
        "logement OR école OR transports",
        ("thèmes",),
    ),
    DemoWatchlist(
        "Budget participatif",
        "topics",
        '"budget participatif" OR (budget NEAR/5 quartiers)',
        ("thèmes",),
    ),
)

# The stories told by several sources (see the module): each text once, its copies below.
LOGEMENT = DemoItem(
    "Logement : Hélène Garnier promet 5 000 logements sociaux en cinq ans",
    "La candidate a présenté mardi soir, devant les habitants du 11e arrondissement, un plan pour "
    "le logement qui prévoit 5 000 logements sociaux en cinq ans et un encadrement renforcé des "
    "loyers. Les associations de locataires saluent une annonce attendue, ses adversaires "
    "dénoncent un chiffrage encore flou.",
    (2, 18.25),
)
LOGEMENT_CUT = DemoItem(
    "Hélène Garnier promet 5 000 logements sociaux",
    "La candidate a présenté mardi soir, devant les habitants du 11e arrondissement, un plan pour "
    "le logement qui prévoit 5 000 logements sociaux en cinq ans et un encadrement renforcé des "
    "loyers. Les réactions sont attendues dans la journée.",
    (2, 20.5),
)
ECOLE = DemoItem(
    "École Jules-Ferry : des parents contre la fermeture d'une classe",
    "Les parents d'élèves de l'école Jules-Ferry ont lancé une pétition contre la fermeture d'une "
    "classe de CE1 annoncée pour la rentrée, qui porterait les effectifs à 29 élèves par classe. "
    "Une réunion avec l'inspection académique est prévue jeudi après-midi.",
    (2, 9.5),
)
# Undated in its feed: the tracer who reported it at once was ahead of the watch.
GRATUITE = DemoItem(
    "Transports : Paul Renaud veut revenir sur la gratuité des bus le week-end",
    "Invité de la matinale, Paul Renaud a annoncé qu'il reviendrait sur la gratuité des bus le "
    "week-end s'il était élu, jugeant la mesure trop coûteuse pour la métropole. Les usagers des "
    "lignes de nuit seraient les premiers concernés, selon les associations d'usagers.",
    (1, 9),
    dated=False,
)
GRATUITE_CUT = DemoItem(
    "Gratuité des bus : Paul Renaud veut y mettre fin",
    "Invité de la matinale, Paul Renaud a annoncé qu'il reviendrait sur la gratuité des bus le "
    "week-end s'il était élu, jugeant la mesure trop coûteuse pour la métropole. Son entourage "
    "promet un chiffrage précis.",
    (1, 11),
)
BUDGET = DemoItem(
    "Budget participatif : les habitants votent pour leurs quartiers jusqu'au 15",
    "Le budget participatif de l'arrondissement ouvre son vote en ligne et dans les mairies "
    "annexes : 42 projets sont soumis aux habitants, des jardins partagés aux pistes cyclables. "
    "Chacun peut choisir cinq projets pour son quartier avant le 15 du mois.",
    (1, 17),
)
BUDGET_CUT = DemoItem(
    "Votez pour les projets de votre quartier",
    "Le budget participatif de l'arrondissement ouvre son vote en ligne et dans les mairies "
    "annexes : 42 projets sont soumis aux habitants, des jardins partagés aux pistes cyclables. "
    "Les résultats seront connus fin du mois.",
    (1, 20),
)
RIPOSTE = DemoItem(
    "Sophie Lacombe attaque le plan logement de Hélène Garnier",
    "Dans un communiqué publié ce matin, Sophie Lacombe qualifie d'irréaliste le plan de 5 000 "
    "logements sociaux présenté par Hélène Garnier et promet de détailler sa propre réponse "
    "lundi. Son équipe évoque un coût de 800 millions d'euros qui ne serait pas financé.",
    (0, 3.5),
)
SCOLAIRES = DemoItem(
    "Transports scolaires : nouveaux horaires pour les cars de la rentrée",
    "Le conseil départemental publie les horaires des cars scolaires pour la rentrée : trois "
    "lignes changent de parcours et les premiers départs sont avancés de dix minutes.",
    (1, 15),
)


def copy(item: DemoItem, when: When) -> DemoItem:
    """The same text, taken up later by another source (which dates it)."""
    return DemoItem(item.title, item.summary, when)


MARIANNE = "https://marianne-dupuis.example/feed/"
ACTU_LYON = "https://actu-lyon.example/rss.xml"
FORUM = "https://forum-citoyens-44.example/index.xml"
VIDEOS = "https://videos-debats.example/feeds/videos.xml"
QUARTIERS = "https://paris-quartiers.example/feed.xml"
DEPECHES = "https://depeches-regions.example/flux.xml"
CENTRE = "https://quotidien-centre.example/rss"

SOURCES = (
    DemoSource(
        MARIANNE,
        "Le carnet de Marianne Dupuis",
        "https://marianne-dupuis.example/",
        "blog",
        "allié",
        "75",
        "ok",
        "",
        (
            DemoItem(
                "Réunion publique à la mairie du 11e",
                "Plus de deux cents personnes présentes.",
                (0, 3),
            ),
            DemoItem(
                "Transports : ce que propose la candidate",
                "Le détail des mesures annoncées.",
                (0, 20),
            ),
            DemoItem(
                "Notre porte-à-porte de samedi", "Compte rendu du quartier Belleville.", (0, 44)
            ),
            DemoItem("Pourquoi je m'engage", "Un texte personnel sur la campagne.", (0, 90)),
            BUDGET,
        ),
    ),
    DemoSource(
        ACTU_LYON,
        "Actu Lyon Métropole",
        "https://actu-lyon.example/",
        "news",
        "neutre",
        "69",
        "ok",
        "",
        (
            DemoItem(
                "Le débat régional fixé au 12", "Les candidats se retrouveront à Lyon.", (0, 5)
            ),
            DemoItem(
                "Sondage : l'écart se resserre", "Deux points séparent les premiers.", (0, 30)
            ),
            DemoItem("Les jeunes et le vote", "Enquête dans trois lycées de la ville.", (0, 70)),
            copy(LOGEMENT, (2, 19)),
            GRATUITE,
        ),
    ),
    DemoSource(
        FORUM,
        "Forum Citoyens 44",
        "https://forum-citoyens-44.example/",
        "forum",
        "",
        "44",
        "failing",
        "http_503",
        (
            DemoItem("Fil : la réforme des retraites", "Discussion ouverte depuis lundi.", (0, 50)),
            ECOLE,
        ),
    ),
    DemoSource(
        VIDEOS,
        "Débats en vidéo",
        "https://videos-debats.example/",
        "video",
        "opposant",
        "national",
        "disabled",
        "dns_error",
        (),
    ),
    DemoSource(
        QUARTIERS,
        "Paris Quartiers Info",
        "https://paris-quartiers.example/",
        "news",
        "neutre",
        "75",
        "ok",
        "",
        (
            LOGEMENT,
            copy(GRATUITE, (1, 12.5)),
            SCOLAIRES,
            copy(BUDGET, (1, 18.5)),
        ),
    ),
    DemoSource(
        DEPECHES,
        "Dépêches des régions",
        "https://depeches-regions.example/",
        "news",
        "neutre",
        "national",
        "ok",
        "",
        (LOGEMENT_CUT, GRATUITE_CUT, RIPOSTE),
    ),
    DemoSource(
        CENTRE,
        "Le Quotidien du Centre",
        "https://quotidien-centre.example/",
        "news",
        "neutre",
        "45",
        "ok",
        "",
        (
            copy(ECOLE, (2, 13)),
            copy(LOGEMENT, (1, 7.5)),
            BUDGET_CUT,
            copy(RIPOSTE, (0, 2.5)),
        ),
    ),
)
