"""Load the mypyc-compiled build of a hot module, only while it matches the source on disk.

scripts/compile-hot-modules compiles a few modules of the bulk sender into build/compiled/
(at their package's path), in groups of modules of one package, each group with a stamp: the
SHA-256 of the sources it was built from (its modules and the first-party modules they import)
and the extension suffix of the Python it was built for. A package whose modules may be
compiled calls `use_compiled(__name__, __path__)` in its `__init__.py`; the modules of each
group whose stamp still matches are then imported from their extensions, and every other one
from its .py as usual. A stale build never loads: a group with an edited module runs as Python
until `make setup` (or `make test`) rebuilds it.

Why a meta path finder that knows exact module names, rather than the compiled directory
prepended to the package's `__path__`: `__path__` is per package, so it would expose every
file there (a stale module beside a fresh one, mypyc's `…__mypyc` libraries), and it would
change what pkgutil and Django's module discovery see in the package. The finder serves the
fresh modules alone, by name, and declines everything else, which then resolves as if it were
not there.

ESSAIM_PURE_PYTHON=1 in the environment turns it off (A/B benchmarks, debugging, a traceback
with Python source lines).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType

COMPILED_DIR = ("build", "compiled")
STAMP_SUFFIX = ".stamp.json"


def pure_python_requested() -> bool:
    return os.environ.get("ESSAIM_PURE_PYTHON", "") not in {"", "0"}


class _CompiledFinder(MetaPathFinder):
    """Finds the extension of each registered (fresh) module; None for any other name."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        return spec_from_file_location(fullname, file, loader=ExtensionFileLoader(fullname, file))


_finder = _CompiledFinder()


def _fresh_extensions(stamp: Path, package: str, root: Path) -> dict[str, str]:
    """The extensions a stamp names (module name -> file), or {} unless every source it lists
    hashes as it did at build time and the files are built for this interpreter."""
    try:
        info = json.loads(stamp.read_bytes())
        group: str = info["group"]
        modules: list[str] = info["modules"]
        extensions: dict[str, str] = info["extensions"]
        sources: dict[str, str] = info["sources"]
        if info["ext_suffix"] != EXTENSION_SUFFIXES[0]:
            return {}
        # The group's shims and its library, all in this package: a stamp cannot make the
        # finder serve other names.
        if any(name.rpartition(".")[0] != package for name in [group, *modules]):
            return {}
        if not modules or set(extensions) != {*modules, f"{group}__mypyc"}:
            return {}
        for source, digest in sources.items():
            if hashlib.sha256((root / source).read_bytes()).hexdigest() != digest:
                return {}
        files = {name: stamp.parent / file for name, file in extensions.items()}
        if not all(file.is_file() for file in files.values()):
            return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    return {name: str(file) for name, file in files.items()}


def use_compiled(package: str, package_path: Sequence[str]) -> None:
    """Have the package's fresh compiled modules imported from build/compiled/.

    Call from the package's `__init__.py` as `use_compiled(__name__, __path__)`. Costs a
    directory listing and the hash of a few source files (well under a millisecond).
    """
    if pure_python_requested() or not package_path:
        return
    parts = package.split(".")
    source_dir = Path(package_path[0])
    # The project root: build/compiled/ sits beside the top-level package. An installed copy
    # (site-packages) has no build/ beside it, and runs as Python.
    root = source_dir.parents[len(parts) - 1]
    compiled_dir = root.joinpath(*COMPILED_DIR, *parts)
    try:
        stamps = [entry for entry in os.scandir(compiled_dir) if entry.name.endswith(STAMP_SUFFIX)]
    except OSError:
        return
    fresh: dict[str, str] = {}
    for entry in stamps:
        fresh.update(_fresh_extensions(Path(entry.path), package, root))
    if not fresh:
        return
    _finder.files.update(fresh)
    if _finder not in sys.meta_path:
        # First: ahead of the path finder, which would find the .py.
        sys.meta_path.insert(0, _finder)


def is_compiled(module: ModuleType) -> bool:
    """The module was loaded from an extension (its compiled build), not from Python source."""
    return str(getattr(module, "__file__", "") or "").endswith(tuple(EXTENSION_SUFFIXES))


def compiled_modules() -> list[str]:
    """The modules imported so far from their compiled build (benches print it)."""
    return sorted(
        name
        for name in _finder.files
        if not name.endswith("__mypyc")
        and (module := sys.modules.get(name)) is not None
        and is_compiled(module)
    )
