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


def postcode_map() -> dict[str, tuple[str, str]]:
    return zones().postcodes


def zone_of(postcode: str) -> tuple[str, str] | None:
    """(département, région) of a French postcode, or None if no such postcode exists."""
    return zones().postcodes.get(postcode)
