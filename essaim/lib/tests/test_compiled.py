"""The sender's hot modules run from their mypyc build, and only while it matches the source.

The build is scripts/compile-hot-modules (run by `make setup` and `make test`). The stale and
disabled cases run in a subprocess: a module imports once per process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import essaim.mailing.message
import essaim.mailing.sender.smtp
from essaim.lib.compiled import compiled_modules, is_compiled, pure_python_requested

ROOT = Path(__file__).resolve().parents[3]
HOT = ["essaim.mailing.message", "essaim.mailing.sender.smtp"]
MISSING_BUILD = "no fresh mypyc build: run scripts/compile-hot-modules --strict (make test does)"

needs_build = pytest.mark.skipif(
    pure_python_requested(), reason="ESSAIM_PURE_PYTHON asks for the pure-Python modules"
)

# Prints where each hot module was loaded from, in a fresh process of the tree given as cwd.
PROBE = """
import json, django
django.setup()
import essaim.mailing.message, essaim.mailing.sender.smtp
from essaim.lib.compiled import compiled_modules
print(json.dumps(compiled_modules()))
"""


def loaded_compiled(tree: Path, **env: str) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k != "ESSAIM_PURE_PYTHON"}
    environ |= {"PYTHONPATH": str(tree), "DJANGO_SETTINGS_MODULE": "essaim.settings_test", **env}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tree,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def copy_tree(tmp_path: Path) -> Path:
    """The package and its build in tmp_path (the build finds its sources beside it)."""
    ignore = shutil.ignore_patterns("__pycache__", "tests", "static", "locale")
    shutil.copytree(ROOT / "essaim", tmp_path / "essaim", ignore=ignore)
    shutil.copytree(ROOT / "build" / "compiled", tmp_path / "build" / "compiled")
    return tmp_path


@needs_build
def test_hot_modules_run_from_their_compiled_build():
    assert is_compiled(essaim.mailing.message), MISSING_BUILD
    assert is_compiled(essaim.mailing.sender.smtp), MISSING_BUILD
    build = ROOT / "build" / "compiled" / "essaim" / "mailing"
    assert Path(essaim.mailing.message.__file__ or "").parent == build
    assert Path(essaim.mailing.sender.smtp.__file__ or "").parent == build / "sender"
    assert compiled_modules() == HOT


@needs_build
@pytest.mark.parametrize(
    ("edited", "still_compiled"),
    [
        (None, HOT),
        ("essaim/mailing/message.py", ["essaim.mailing.sender.smtp"]),
        # An import of message: mypyc may have copied its constants into the C code.
        ("essaim/mailing/sender/dkim.py", ["essaim.mailing.sender.smtp"]),
        # An import of message too.
        ("essaim/mailing/sender/smtp.py", []),
    ],
)
def test_a_module_whose_source_changed_runs_as_python(tmp_path, edited, still_compiled):
    tree = copy_tree(tmp_path)
    if edited is not None:
        with open(tree / edited, "a", encoding="utf-8") as source:
            source.write("\n# edited after the build\n")
    assert loaded_compiled(tree) == still_compiled


@needs_build
def test_a_stamp_that_does_not_match_keeps_its_module_python(tmp_path):
    tree = copy_tree(tmp_path)
    stamp = tree / "build/compiled/essaim/mailing/sender/smtp.stamp.json"
    info = json.loads(stamp.read_text())
    info["sources"]["essaim/mailing/sender/smtp.py"] = "0" * 64
    stamp.write_text(json.dumps(info))
    # message is still fresh (its stamp hashes the unchanged smtp.py) and loads compiled.
    assert loaded_compiled(tree) == ["essaim.mailing.message"]


def test_essaim_pure_python_gives_the_python_modules():
    assert loaded_compiled(ROOT, ESSAIM_PURE_PYTHON="1") == []
