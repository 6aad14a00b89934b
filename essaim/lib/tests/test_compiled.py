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

import essaim.lib.signing
import essaim.mailing.message
import essaim.mailing.message.builder
import essaim.mailing.message.signing
import essaim.mailing.message.template
import essaim.mailing.sender.smtp
from essaim.lib.compiled import compiled_modules, is_compiled, pure_python_requested

ROOT = Path(__file__).resolve().parents[3]
# One group of one module, one group of three (built together), one group of one.
LIB = ["essaim.lib.signing"]
MESSAGE = [
    "essaim.mailing.message.builder",
    "essaim.mailing.message.signing",
    "essaim.mailing.message.template",
]
SMTP = ["essaim.mailing.sender.smtp"]
HOT = LIB + MESSAGE + SMTP
MISSING_BUILD = "no fresh mypyc build: run scripts/compile-hot-modules --strict (make test does)"

needs_build = pytest.mark.skipif(
    pure_python_requested(), reason="ESSAIM_PURE_PYTHON asks for the pure-Python modules"
)

# Prints where each hot module was loaded from, in a fresh process of the tree given as cwd.
PROBE = """
import json, django
django.setup()
import essaim.lib.signing, essaim.mailing.message, essaim.mailing.sender.smtp
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
    build = ROOT / "build" / "compiled" / "essaim"
    # Imported through a shim, by the finder. The other modules of the message group are made
    # by its library, which gives them a `__file__` of its own making.
    for module, folder in [
        (essaim.lib.signing, build / "lib"),
        (essaim.mailing.message.builder, build / "mailing" / "message"),
        (essaim.mailing.sender.smtp, build / "mailing" / "sender"),
    ]:
        assert is_compiled(module), MISSING_BUILD
        assert Path(module.__file__ or "").parent == folder
    assert is_compiled(essaim.mailing.message.signing), MISSING_BUILD
    assert is_compiled(essaim.mailing.message.template), MISSING_BUILD
    # The package that re-exports the builder's names is plain Python.
    assert not is_compiled(essaim.mailing.message)
    assert compiled_modules() == HOT


@needs_build
@pytest.mark.parametrize(
    ("edited", "still_compiled"),
    [
        (None, HOT),
        # A module of a group: the whole group runs as Python (it is one library).
        ("essaim/mailing/message/template.py", LIB + SMTP),
        # An import of the builder: mypyc may have copied its constants into the C code.
        ("essaim/mailing/message/dkim.py", LIB + SMTP),
        # An import of message.signing; what imports message.signing is in its group.
        ("essaim/lib/signing.py", SMTP),
        ("essaim/mailing/sender/smtp.py", LIB + MESSAGE),
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
    # The other groups are still fresh and load compiled.
    assert loaded_compiled(tree) == LIB + MESSAGE


@needs_build
def test_a_stamp_cannot_make_the_finder_serve_another_packages_module(tmp_path):
    tree = copy_tree(tmp_path)
    stamp = tree / "build/compiled/essaim/mailing/message/_compiled.stamp.json"
    info = json.loads(stamp.read_text())
    info["modules"].append("essaim.mailing.links")
    info["extensions"]["essaim.mailing.links"] = info["extensions"][MESSAGE[0]]
    stamp.write_text(json.dumps(info))
    assert loaded_compiled(tree) == LIB + SMTP


def test_essaim_pure_python_gives_the_python_modules():
    assert loaded_compiled(ROOT, ESSAIM_PURE_PYTHON="1") == []
