"""The folders are layers: imports run one way and close no cycle (tests/support/layering.py reads them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.layering import modules_of, problems_of

ROOT = Path(__file__).resolve().parents[1]


def test_imports_run_one_way_and_close_no_cycle() -> None:
    problems = problems_of(ROOT)
    assert not problems, "\n".join(problems)


def _copy(tmp_path: Path) -> Path:
    for package in ("gateway", "resolvers"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _added(copy: Path) -> list[str]:
    """What the check says of the copy and not of the real tree: the copy's planted imports."""
    before = set(problems_of(ROOT))
    return [problem for problem in problems_of(copy) if problem not in before]


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")


def test_the_check_reports_an_upward_import_in_a_function(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    _append(copy / "gateway/stores/circuit.py", "def _late() -> None:\n    from gateway.data import ids  # noqa\n")
    problems = _added(copy)
    assert len(problems) == 1, problems
    assert "gateway.stores.circuit" in problems[0] and "imports gateway.data.ids" in problems[0]
    assert "upward" in problems[0]


def test_the_check_reports_imports_of_the_operator_tools_and_of_strawberry_below_the_schema(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    _append(
        copy / "gateway/core/logs.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import gateway.ops.migrations.errors\n",
    )
    _append(copy / "gateway/data/text.py", "from strawberry import ID\n")
    problems = _added(copy)
    assert len(problems) == 2, problems
    assert any(
        "gateway.core.logs" in p and "gateway.ops.migrations.errors" in p and "nothing outside gateway.ops" in p
        for p in problems
    )
    assert any("gateway.data.text" in p and "strawberry" in p for p in problems)


def test_the_check_reports_a_cycle_with_its_path(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    # a type-checking-only import closes the cycle: it still ties the two modules together
    _append(
        copy / "gateway/data/ids.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gateway.data import rows\n",
    )
    _append(copy / "gateway/data/rows.py", "from gateway.data.text import *  # noqa\n")
    _append(copy / "gateway/data/text.py", "from gateway.data.ids import encode  # noqa\n")
    problems = _added(copy)
    assert problems == [
        "import cycle among gateway.data.ids, gateway.data.rows, gateway.data.text: "
        "gateway.data.ids -> gateway.data.rows -> gateway.data.text -> gateway.data.ids"
    ]


# Each module imported first, in an interpreter of its own: an order-dependent cycle raises
# ImportError only when its modules load in one order, which the whole suite may never take.
# The libraries are loaded once and each module imported in a fork, so only the project's own
# modules are fresh; that is where such a cycle lives.
_IMPORT_EACH = """
import importlib, os, sys, traceback
modules, libraries = sys.argv[1].split(), sys.argv[2].split()
for library in libraries:
    try:
        importlib.import_module(library)
    except ImportError:
        pass
failed = []
for name in modules:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failed.append(name)
print("FAILED " + " ".join(failed))
"""


def test_every_module_imports_on_its_own() -> None:
    modules = sorted(modules_of(ROOT))
    libraries = ["strawberry", "graphql", "starlette", "uvicorn", "pymongo", "asyncpg", "authlib", "httpx", "orjson"]
    run = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, " ".join(modules), " ".join(libraries)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "FAILED", run.stdout + run.stderr
