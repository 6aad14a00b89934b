"""French zones: régions, départements and postcodes, from the official administrative division
(npm package @etalab/decoupage-administratif, installed at setup).

Held in memory, read once per process: about 6,300 postcodes, looked up for every imported row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from essaim.lib.text import name_key


class ZonesDataMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Zones:
    regions: dict[str, str]  # code → name
    departements: dict[str, tuple[str, str]]  # code → (name, région code)
    postcodes: dict[str, tuple[str, str]]  # postcode → (département, région)


def _read(name: str) -> list[dict]:
    path = Path(settings.ZONES_DATA_DIR) / name
    if not path.is_file():
        raise ZonesDataMissing(
            f"{path} is missing: run the setup (npm install), which installs "
            "@etalab/decoupage-administratif"
        )
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def zones() -> Zones:
    regions = {r["code"]: r["nom"] for r in _read("regions.json")}
    departements = {d["code"]: (d["nom"], d["region"]) for d in _read("departements.json")}
    # A postcode spanning two départements goes to the one of its most populous commune.
    best: dict[str, tuple[int, str, str]] = {}
    for commune in _read("communes.json"):
        dep, reg = commune.get("departement"), commune.get("region")
        if commune.get("type") != "commune-actuelle" or not dep or not reg:
            continue
        population = int(commune.get("population") or 0)
        for code in commune.get("codesPostaux") or ():
            if code not in best or population > best[code][0]:
                best[code] = (population, dep, reg)
    postcodes = {code: (dep, reg) for code, (_, dep, reg) in best.items()}
    return Zones(regions=regions, departements=departements, postcodes=postcodes)


@lru_cache(maxsize=1)
def zone_names() -> tuple[dict[str, str], dict[str, str]]:
    """The names of the régions and of the départements by code, read without the communes (a
    page that only names zones need not load the 6,300 postcodes)."""
    regions = {r["code"]: r["nom"] for r in _read("regions.json")}
    departements = {d["code"]: d["nom"] for d in _read("departements.json")}
    return regions, departements


def postcode_map() -> dict[str, tuple[str, str]]:
    return zones().postcodes


def zone_of(postcode: str) -> tuple[str, str] | None:
    """(département, région) of a French postcode, or None if no such postcode exists."""
    return zones().postcodes.get(postcode)


@lru_cache(maxsize=1)
def _towns() -> dict[str, tuple[str, ...]]:
    by_name: dict[str, set[str]] = {}
    for commune in _read("communes.json"):
        if commune.get("type") != "commune-actuelle":
            continue
        codes = commune.get("codesPostaux") or ()
        if codes:
            by_name.setdefault(name_key(commune["nom"]), set()).update(codes)
    return {name: tuple(sorted(codes)) for name, codes in by_name.items()}


def town_postcodes(text: str) -> tuple[str, ...]:
    """The postcodes of the communes named `text` (accents, case and hyphens aside: "saint
    etienne" is Saint-Étienne), every homonym included; () when no commune has that name."""
    return _towns().get(name_key(text), ())
