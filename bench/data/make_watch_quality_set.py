"""Build the watch's labelled set of French items (bench/data/watch_quality.json).

    .venv/bin/python bench/data/make_watch_quality_set.py

Each item carries the event it reports (`event`) and, when it copies a text, the text it
copies (`text`): items of one event are one story; items of one text are duplicates. The
events are written by hand: agency dispatches reprinted by many sites with the edits sites
make (a credit added or removed, a dateline, a rewritten headline, a summary cut after a
sentence or two, a sentence added, words changed), own coverage of the same events by other
sites (other words, same facts), and families of different events told with the same words
(municipal councils voting their budget, strikes on different days, polls of different months,
fires in different towns, the same recurring column title in one source). Seeded: the file is
the same at each run; it is committed, and bench/watch_quality.py reads it.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("watch_quality.json")
START = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC)

SITES = [
    "lefigaro-exemple.fr", "lemonde-exemple.fr", "liberation-exemple.fr", "ouest-exemple.fr",
    "sudouest-exemple.fr", "ladepeche-exemple.fr", "leparisien-exemple.fr", "20min-exemple.fr",
    "bfm-exemple.fr", "francebleu-exemple.fr", "lexpress-exemple.fr", "lepoint-exemple.fr",
    "nouvelobs-exemple.fr", "huffpost-exemple.fr", "laprovence-exemple.fr", "nicematin-exemple.fr",
    "leprogres-exemple.fr", "dna-exemple.fr", "lavoixdunord-exemple.fr", "lest-exemple.fr",
    "midilibre-exemple.fr", "lindependant-exemple.fr", "courrier-picard-exemple.fr",
    "lamontagne-exemple.fr", "letelegramme-exemple.fr", "charente-libre-exemple.fr",
    "republicain-lorrain-exemple.fr", "paris-normandie-exemple.fr", "corse-matin-exemple.fr",
    "lyon-mag-exemple.fr", "actu-exemple.fr", "boursorama-exemple.fr", "msn-exemple.fr",
    "yahoo-actu-exemple.fr", "blog-citoyen-exemple.fr", "forum-politique-exemple.fr",
    "rennes-infos-exemple.fr", "nantes-actu-exemple.fr", "metz-infos-exemple.fr",
    "brest-infos-exemple.fr",
]  # fmt: skip

# An event: its titles (the first is the dispatch's), its text, how many sites reprint it, and
# other sites' own coverage (other words). `family` groups events told with the same words.
EVENTS: list[dict[str, Any]] = [
    {
        "id": "dotations-rurales",
        "wire": "AFP",
        "titles": [
            "Dotations : les communes rurales privées de 300 millions d'euros",
            "Les maires ruraux dénoncent la baisse de leurs dotations",
            "Collectivités : la réforme du financement fâche les élus",
        ],
        "text": "Le Premier ministre a annoncé mardi une réforme du financement des collectivités "
        "locales, qui devrait priver les communes rurales de près de 300 millions d'euros de "
        "dotations dès l'an prochain. Les associations d'élus ont dénoncé une décision prise "
        "sans concertation. Elles promettent de saisir le Conseil d'État si le texte est publié "
        "en l'état au Journal officiel. Selon Matignon, la réforme vise à mieux répartir l'effort "
        "entre les territoires et à soutenir les communes dont la population augmente.",
        "reprints": 30,
        "own": [
            "Trois cents millions d'euros en moins pour les villages : c'est ce que prévoit la "
            "réforme dévoilée par le chef du gouvernement. À Saint-Flour, le maire calcule déjà "
            "la perte pour son budget et parle d'un coup de massue pour les petites communes.",
            "Matignon assume : la nouvelle répartition des dotations doit favoriser les villes en "
            "croissance. L'Association des maires ruraux, elle, y voit une trahison et prépare un "
            "recours devant la plus haute juridiction administrative.",
        ],
    },
    {
        "id": "greve-sncf-12",
        "family": "greve",
        "wire": "AFP",
        "titles": [
            "Grève à la SNCF : trafic très perturbé jeudi 12",
            "SNCF : un TGV sur deux jeudi, les prévisions de trafic",
        ],
        "text": "Le trafic sera très perturbé jeudi sur l'ensemble du réseau SNCF, avec un TGV sur "
        "deux en moyenne et un TER sur trois, a annoncé la direction mercredi. Les syndicats "
        "CGT-Cheminots et SUD-Rail appellent à la grève pour protester contre la suppression de "
        "postes dans les ateliers de maintenance. Les voyageurs sont invités à reporter leurs "
        "déplacements ou à consulter l'application avant de se rendre en gare.",
        "reprints": 16,
        "own": [
            "Gare Montparnasse, mercredi soir, les panneaux affichent déjà les premières "
            "suppressions. Les cheminots des ateliers de maintenance, en première ligne, "
            "expliquent pourquoi ils cesseront le travail demain.",
        ],
    },
    {
        "id": "greve-sncf-26",
        "family": "greve",
        "wire": "AFP",
        "titles": [
            "Grève à la SNCF : nouvelle journée de perturbations mardi 26",
            "SNCF : deux TGV sur trois mardi, les prévisions",
        ],
        "text": "La SNCF prévoit deux TGV sur trois et un TER sur deux mardi, au deuxième jour "
        "d'une grève reconductible lancée par SUD-Rail contre la réforme des retraites des "
        "conducteurs. La circulation des Intercités sera quasi nulle sur les lignes Paris-"
        "Clermont et Bordeaux-Marseille. La direction appelle à un dialogue et propose une table "
        "ronde jeudi, que le syndicat juge insuffisante.",
        "reprints": 10,
        "offset_days": 14,
    },
    {
        "id": "sondage-ifop-novembre",
        "family": "sondage",
        "wire": "AFP",
        "titles": [
            "Sondage Ifop : la majorité recule de deux points en novembre",
            "Popularité : nouveau recul pour l'exécutif selon l'Ifop",
        ],
        "text": "La cote de confiance du président de la République recule de deux points en "
        "novembre, à 29 % d'opinions favorables, selon le baromètre mensuel Ifop publié "
        "dimanche. Celle du Premier ministre se stabilise à 34 %. Le pouvoir d'achat reste la "
        "première préoccupation des personnes interrogées, devant la sécurité et la santé. "
        "L'enquête a été réalisée en ligne auprès de 1 900 personnes.",
        "reprints": 12,
    },
    {
        "id": "sondage-ifop-decembre",
        "family": "sondage",
        "wire": "AFP",
        "titles": [
            "Sondage Ifop : la majorité remonte légèrement en décembre",
            "Popularité : léger rebond pour l'exécutif selon l'Ifop",
        ],
        "text": "La cote de confiance du président de la République progresse d'un point en "
        "décembre, à 30 % d'opinions favorables, selon le baromètre mensuel Ifop publié "
        "dimanche. Le Premier ministre gagne trois points à 37 %. Les retraites remontent parmi "
        "les préoccupations des Français, juste derrière le pouvoir d'achat. L'enquête a été "
        "menée en ligne auprès de 2 000 personnes.",
        "reprints": 10,
        "offset_days": 28,
    },
    {
        "id": "incendie-marseille",
        "family": "incendie",
        "wire": "AFP",
        "titles": [
            "Marseille : un incendie ravage un immeuble du 3e arrondissement",
            "Incendie à Marseille : douze blessés légers, cinquante habitants relogés",
        ],
        "text": "Un violent incendie s'est déclaré dans la nuit de vendredi à samedi dans un "
        "immeuble de six étages de la rue de Lyon, dans le 3e arrondissement de Marseille. "
        "Douze habitants ont été légèrement blessés, principalement intoxiqués par les fumées, "
        "selon les marins-pompiers. Une cinquantaine de personnes ont été relogées par la mairie. "
        "Une enquête a été ouverte pour déterminer l'origine du sinistre.",
        "reprints": 9,
        "own": [
            "Rue de Lyon, au petit matin, les façades noircies témoignent de la violence des "
            "flammes. Les habitants, relogés dans un gymnase, racontent l'évacuation par les "
            "escaliers enfumés.",
        ],
    },
    {
        "id": "incendie-lille",
        "family": "incendie",
        "wire": "AFP",
        "titles": [
            "Lille : un incendie détruit un entrepôt de la zone industrielle",
            "Incendie à Lille : un entrepôt en feu, pas de blessé",
        ],
        "text": "Un incendie a détruit dans la nuit de vendredi à samedi un entrepôt de 4 000 "
        "mètres carrés de la zone industrielle de Lomme, près de Lille. Aucun blessé n'est à "
        "déplorer, selon les pompiers du Nord qui ont mobilisé soixante-dix hommes. Le panache "
        "de fumée était visible à plusieurs kilomètres. Les habitants des rues voisines ont été "
        "invités à garder leurs fenêtres fermées.",
        "reprints": 8,
        "offset_days": 1,
    },
    {
        "id": "proces-frontignan",
        "wire": "AFP",
        "titles": [
            "Procès de l'ancien maire de Frontignan : trois ans de prison requis",
            "Frontignan : le parquet requiert trois ans contre l'ex-maire",
        ],
        "text": "Le parquet de Montpellier a requis mercredi trois ans de prison, dont un ferme, "
        "et cinq ans d'inéligibilité contre l'ancien maire de Frontignan, jugé pour favoritisme "
        "dans l'attribution de marchés publics entre 2016 et 2020. L'élu, qui conteste les faits, "
        "a dénoncé à la barre un dossier politique. Le jugement a été mis en délibéré au 15 "
        "janvier.",
        "reprints": 8,
    },
    {
        "id": "budget-assemblee",
        "wire": "Reuters",
        "titles": [
            "Budget : le gouvernement engage sa responsabilité à l'Assemblée",
            "Le 49.3 utilisé pour le budget, une motion de censure déposée",
        ],
        "text": "Le gouvernement a engagé lundi sa responsabilité sur le projet de loi de "
        "finances, recourant à l'article 49.3 de la Constitution pour faire adopter le budget "
        "sans vote. L'opposition de gauche a aussitôt annoncé le dépôt d'une motion de censure, "
        "qui sera examinée mercredi. Pour être adoptée, elle devra réunir 289 voix, un seuil que "
        "la droite n'entend pas permettre d'atteindre.",
        "reprints": 20,
        "own": [
            "Dans l'hémicycle, les huées ont couvert la fin du discours de la Première ministre. "
            "Le 49.3 était attendu, mais son annonce a tendu encore les débats, et la gauche "
            "compte les voix pour renverser le gouvernement mercredi.",
            "Vingt-troisième 49.3 de la législature : l'exécutif contourne de nouveau le vote des "
            "députés sur le budget. Décryptage de ce qui se joue avec la motion de censure.",
        ],
    },
    {
        "id": "pollution-lyon",
        "wire": "AFP",
        "titles": [
            "Pic de pollution : circulation différenciée à Lyon jeudi",
            "Lyon : la circulation différenciée mise en place face à la pollution",
        ],
        "text": "La préfecture du Rhône a décidé de mettre en place la circulation "
        "différenciée jeudi à Lyon et Villeurbanne en raison d'un épisode de pollution aux "
        "particules fines. Seuls les véhicules dotés d'une vignette Crit'Air 0, 1 ou 2 pourront "
        "circuler. La vitesse est abaissée de 20 km/h sur les grands axes et les transports en "
        "commun proposent un ticket à tarif réduit pour la journée.",
        "reprints": 7,
    },
    {
        "id": "hopital-brest",
        "titles": [
            "Brest : les urgences de la Cavale-Blanche régulées la nuit",
            "Urgences de Brest : accès régulé par le 15 la nuit dès lundi",
        ],
        "text": "À partir de lundi, les urgences de l'hôpital de la Cavale-Blanche, à Brest, ne "
        "seront accessibles la nuit qu'après un appel au 15, faute de médecins en nombre "
        "suffisant. La direction du CHU évoque une mesure temporaire jusqu'à la fin de l'hiver. "
        "Le collectif de défense de l'hôpital appelle à un rassemblement samedi devant "
        "l'établissement.",
        "reprints": 6,
        "local": True,
    },
    {
        "id": "chomage-t3",
        "family": "chomage",
        "wire": "AFP",
        "titles": [
            "Chômage : le taux remonte à 7,6 % au troisième trimestre",
            "Le chômage repart à la hausse, selon l'Insee",
        ],
        "text": "Le taux de chômage a augmenté de 0,2 point au troisième trimestre en France, à "
        "7,6 % de la population active, a annoncé vendredi l'Insee. Le nombre de chômeurs au "
        "sens du Bureau international du travail atteint 2,4 millions de personnes. La hausse "
        "touche surtout les jeunes de moins de 25 ans, dont le taux de chômage grimpe à 18,9 %. "
        "Le ministre du Travail a jugé ces chiffres « décevants mais pas alarmants ».",
        "reprints": 13,
        "own": [
            "Après deux ans de baisse, la courbe s'inverse : les jeunes paient le prix du "
            "ralentissement, et les économistes redoutent une fin d'année difficile pour "
            "l'emploi.",
        ],
    },
    {
        "id": "chomage-t4",
        "family": "chomage",
        "wire": "AFP",
        "titles": [
            "Chômage : le taux stable à 7,6 % au quatrième trimestre",
            "Le chômage se stabilise, selon l'Insee",
        ],
        "text": "Le taux de chômage est resté stable au quatrième trimestre en France, à 7,6 % de "
        "la population active, a annoncé vendredi l'Insee. Le nombre de chômeurs au sens du "
        "Bureau international du travail recule légèrement, à 2,38 millions de personnes. Le "
        "chômage des jeunes reflue à 18,1 %, tandis que celui des seniors progresse. Le "
        "gouvernement y voit le signe d'une résistance du marché du travail.",
        "reprints": 9,
        "offset_days": 24,
    },
    {
        "id": "partielle-yvelines",
        "family": "partielle",
        "wire": "AFP",
        "titles": [
            "Législative partielle dans les Yvelines : la candidate de la majorité en tête",
            "Yvelines : second tour entre la majorité et la gauche",
        ],
        "text": "La candidate de la majorité présidentielle est arrivée en tête dimanche du "
        "premier tour de l'élection législative partielle de la 2e circonscription des Yvelines, "
        "avec 38,2 % des voix, devant le candidat de l'union de la gauche (29,5 %). La "
        "participation s'est établie à 24 %, un niveau très faible. Le second tour aura lieu "
        "dimanche prochain.",
        "reprints": 11,
    },
    {
        "id": "partielle-haute-garonne",
        "family": "partielle",
        "wire": "AFP",
        "titles": [
            "Législative partielle en Haute-Garonne : le candidat de gauche en tête",
            "Haute-Garonne : second tour entre la gauche et le RN",
        ],
        "text": "Le candidat de l'union de la gauche est arrivé en tête dimanche du premier tour "
        "de l'élection législative partielle de la 6e circonscription de la Haute-Garonne, avec "
        "41,7 % des voix, devant la candidate du Rassemblement national (27,1 %). La "
        "participation a atteint 31 %. Le second tour aura lieu dimanche prochain.",
        "reprints": 9,
        "offset_days": 7,
    },
    {
        "id": "tempete-bretagne",
        "wire": "AFP",
        "titles": [
            "Tempête : 150 000 foyers privés d'électricité en Bretagne",
            "La tempête balaie la Bretagne, vigilance orange levée jeudi",
        ],
        "text": "Quelque 150 000 foyers étaient privés d'électricité mercredi matin en Bretagne "
        "après le passage d'une tempête qui a apporté des rafales de plus de 130 km/h sur le "
        "littoral du Finistère, selon Enedis. Plusieurs routes ont été coupées par des chutes "
        "d'arbres et les liaisons maritimes vers les îles sont suspendues. Météo-France prévoit "
        "la levée de la vigilance orange jeudi.",
        "reprints": 18,
        "own": [
            "À Plougonvelin, les arbres arrachés barrent encore la route de la corniche. Les "
            "agents d'Enedis enchaînent les interventions, mais des milliers de foyers resteront "
            "sans courant ce soir.",
        ],
    },
    {
        "id": "cour-comptes-jo",
        "wire": "Reuters",
        "titles": [
            "La Cour des comptes chiffre le coût public des Jeux à 6 milliards",
            "JO : un coût public de 6 milliards d'euros selon la Cour des comptes",
        ],
        "text": "Les Jeux olympiques et paralympiques ont coûté environ 6 milliards d'euros aux "
        "finances publiques, selon un rapport de la Cour des comptes publié lundi, qui appelle "
        "à mieux évaluer l'héritage des équipements construits en Seine-Saint-Denis. Le comité "
        "d'organisation affiche de son côté un budget à l'équilibre. Le rapport relève aussi des "
        "dépenses de sécurité supérieures aux prévisions.",
        "reprints": 12,
    },
]

# Municipal councils voting their budget: the same words, different towns and figures.
COUNCILS = [
    ("Rennes", "lundi", "4 %", "120 millions", "les écoles, les transports et la rénovation"),
    ("Nantes", "jeudi", "2,5 %", "95 millions", "la voirie, les crèches et les piscines"),
    ("Metz", "mardi", "3 %", "48 millions", "le centre-ville, les gymnases et l'éclairage"),
    ("Brest", "vendredi", "1,8 %", "60 millions", "le port, les écoles et les pistes cyclables"),
    ("Angers", "lundi", "3,2 %", "70 millions", "le tramway, les bibliothèques et les parcs"),
    ("Dijon", "mercredi", "2 %", "52 millions", "les quartiers, la culture et les écoles"),
    ("Tours", "jeudi", "2,7 %", "44 millions", "les ponts, la propreté et les équipements"),
    ("Limoges", "mardi", "1,5 %", "38 millions", "la voirie, le musée et les écoles"),
    ("Clermont-Ferrand", "lundi", "2,2 %", "66 millions", "les écoles, le stade et la voirie"),
    ("Perpignan", "jeudi", "3,5 %", "41 millions", "le centre ancien, les écoles et les plages"),
]
COUNCIL_TEXT = (
    "Le conseil municipal de {town} a adopté {day} soir son budget primitif pour l'année "
    "prochaine, marqué par une hausse de {rise} des dépenses de fonctionnement. Le plan "
    "d'investissement, de {invest} d'euros, sera consacré à {uses}. L'opposition a voté contre, "
    "dénonçant une hausse de la dette. Le maire a défendu un budget de responsabilité qui "
    "n'augmente pas les taux d'imposition."
)
COUNCIL_TEXT_B = (
    "Réunis {day} soir, les élus de {town} ont voté le budget de la ville pour l'an prochain. "
    "Les dépenses de fonctionnement progressent de {rise} et {invest} d'euros d'investissements "
    "iront à {uses}. La majorité se félicite de taux d'imposition inchangés ; l'opposition "
    "pointe l'endettement."
)

# A recurring column: one source, one title, a different text each day.
COLUMN_TITLE = "La revue de presse politique du matin"
COLUMN_TEXTS = [
    "Ce matin, la presse revient sur l'usage du 49.3 pour le budget et sur la motion de censure "
    "que la gauche déposera. Les éditorialistes s'interrogent sur la solidité de la majorité.",
    "Les quotidiens régionaux s'attardent ce matin sur la colère des maires ruraux après "
    "l'annonce de la baisse des dotations, et sur la grève annoncée à la SNCF jeudi.",
    "À la une ce matin : le baromètre Ifop de novembre et le recul de l'exécutif, mais aussi "
    "l'incendie de Marseille et les relogements d'urgence dans le 3e arrondissement.",
    "La presse du jour commente le réquisitoire contre l'ancien maire de Frontignan et la "
    "circulation différenciée décidée à Lyon face au pic de pollution.",
]

# Short items: too short to merge by themselves whatever they share.
SHORTS = [
    ("Conseil municipal ce soir", "Ordre du jour : budget, voirie, subventions."),
    ("Conseil municipal ce soir", "Ordre du jour : budget et écoles."),
    ("Grève jeudi", "Perturbations attendues."),
    ("Grève jeudi", "Perturbations attendues."),
    ("Sondage", "Nouveau baromètre publié."),
]

_SYNONYMS = [
    ("a annoncé", "annonce"),
    ("mardi", "ce mardi"),
    ("mercredi", "ce mercredi"),
    ("jeudi", "ce jeudi"),
    ("lundi", "ce lundi"),
    ("près de", "environ"),
    ("selon", "d'après"),
    ("a été ouverte", "est ouverte"),
    ("Les voyageurs", "Les usagers"),
]
_ADDITIONS = [
    "Nous reviendrons sur ce sujet dans notre édition de demain.",
    "Le maire de la commune s'est dit « sidéré » par cette annonce.",
    "Contactée, la préfecture n'a pas souhaité faire de commentaire.",
    "Plus d'informations à suivre sur notre site.",
    "Réagissez à cet article dans les commentaires.",
]


def sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+", text)


def reprint(text: str, wire: str | None, rng: random.Random) -> str:
    """One site's copy of a dispatch: cut, edited, credited its own way."""
    parts = sentences(text)
    choice = rng.random()
    if choice < 0.3:
        parts = parts[: rng.choice([2, 3])]  # the feed's summary stops early
        if rng.random() < 0.5:
            parts[-1] += " […]"
    elif choice < 0.45 and len(parts) > 3:
        del parts[rng.randrange(1, len(parts))]  # a sentence dropped
    out = " ".join(parts)
    for old, new in rng.sample(_SYNONYMS, 2):
        if old in out and rng.random() < 0.6:
            out = out.replace(old, new, 1)
    if rng.random() < 0.3:
        out += " " + rng.choice(_ADDITIONS)
    if wire:
        credit = rng.choice(["dateline", "avec", "suffix", "none", "source"])
        if credit == "dateline":
            out = f"PARIS ({wire}) - " + out
        elif credit == "avec":
            out = out + f" (avec {wire})"
        elif credit == "suffix":
            out = out + f" © {wire}"
        elif credit == "source":
            out = out + f" Source : {wire}."
    return out


def build() -> list[dict[str, Any]]:
    rng = random.Random(2026)
    items: list[dict[str, Any]] = []
    counter = 0

    def add(event: str, text_id: str, site: str, title: str, summary: str, at: dt.datetime,
            url: str | None = None) -> None:  # fmt: skip
        nonlocal counter
        counter += 1
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower())[:60].strip("-")
        items.append(
            {
                "n": counter,
                "event": event,
                "text": text_id,
                "source": site,
                "url": url or f"https://www.{site}/actualite/{slug}-{counter}.html",
                "title": title,
                "summary": summary,
                "published_at": at.isoformat(),
            }
        )

    for number, event in enumerate(EVENTS):
        base = START + dt.timedelta(days=event.get("offset_days", 0), hours=number * 5)
        wire = event.get("wire")
        sites = rng.sample(SITES, min(len(SITES), event["reprints"] + 1))
        first_site = sites[0]
        dateline = f"PARIS ({wire}) - " if wire else ""
        first_url = f"https://www.{first_site}/actualite/{event['id']}.html"
        add(event["id"], event["id"], first_site, event["titles"][0], dateline + event["text"],
            base, first_url)  # fmt: skip
        for k, site in enumerate(sites[1:], start=1):
            title = rng.choice(event["titles"])
            at = base + dt.timedelta(minutes=rng.randint(3, 60 * 30))
            add(event["id"], event["id"], site, title, reprint(event["text"], wire, rng), at)
            if k == 2:
                # An aggregator links the first site's article (its mobile AMP address).
                amp = first_url.replace("https://www.", "https://m.").replace(".html", ".amp.html")
                add(event["id"], event["id"], "msn-exemple.fr", event["titles"][0],
                    event["text"][:140], at + dt.timedelta(minutes=5), amp)  # fmt: skip
        for k, text in enumerate(event.get("own", [])):
            site = rng.choice([s for s in SITES if s not in sites])
            at = base + dt.timedelta(hours=2 + 3 * k)
            add(event["id"], f"{event['id']}-own{k}", site, rng.choice(event["titles"]), text, at)

    for k, (town, day, rise, invest, uses) in enumerate(COUNCILS):
        event = f"conseil-{town.lower()}"
        at = START + dt.timedelta(days=k % 3, hours=18 + k)
        values = {"town": town, "day": day, "rise": rise, "invest": invest, "uses": uses}
        local = [s for s in SITES if "infos" in s or "actu" in s or "ouest" in s]
        for m, site in enumerate(rng.sample(local, 4)):
            text = COUNCIL_TEXT.format(**values)
            summary = text if m == 0 else reprint(text, None, rng)
            title = f"{town} : le conseil municipal adopte le budget {rng.choice(['', '2027'])}"
            add(event, event, site, title.strip(), summary, at + dt.timedelta(hours=m * 3))
        site = rng.choice([s for s in SITES if s not in local])
        add(event, f"{event}-own", site, f"Budget voté à {town}", COUNCIL_TEXT_B.format(**values),
            at + dt.timedelta(hours=14))  # fmt: skip

    for k, text in enumerate(COLUMN_TEXTS):
        at = START + dt.timedelta(days=k, hours=1)
        add(f"revue-{k}", f"revue-{k}", "francebleu-exemple.fr", COLUMN_TITLE, text, at)

    for k, (title, summary) in enumerate(SHORTS):
        add(f"court-{k}", f"court-{k}", SITES[k], title, summary,
            START + dt.timedelta(hours=k))  # fmt: skip
    return items


def main() -> None:
    items = build()
    OUT.write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    events = {i["event"] for i in items}
    print(f"{len(items)} items, {len(events)} events -> {OUT}")


if __name__ == "__main__":
    main()
