"""Imports run one way: HTTP layer -> schema -> data access -> runtime foundation."""

from __future__ import annotations

import subprocess
import sys

import pytest

ABOVE_DATA = (
    "resolvers",
    "strawberry",
    "gateway.http.app",
    "gateway.http.view",
    "gateway.http.login",
    "gateway.ops.cli",
)


def _loaded_after(modules: list[str]) -> set[str]:
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print('\\n'.join(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


@pytest.mark.parametrize(
    "modules",
    [
        ["gateway.core.context", "gateway.stores.mongo", "gateway.stores.postgres", "gateway.core.outbox"],
        [
            "gateway.data.ids",
            "gateway.data.paging",
            "gateway.data.brain.campaigns",
            "gateway.data.brain.creatives",
            "gateway.data.brain.metrics",
            "gateway.data.brain.users",
            "gateway.data.enterprise.executions",
            "gateway.data.enterprise.members",
        ],
    ],
    ids=["foundation", "data access"],
)
def test_lower_layers_import_nothing_above_them(modules: list[str]) -> None:
    loaded = _loaded_after(modules)
    above = sorted(m for m in loaded if any(m == top or m.startswith(top + ".") for top in ABOVE_DATA))
    assert above == []


def test_foundation_imports_no_data_access() -> None:
    loaded = _loaded_after(
        ["gateway.core.context", "gateway.stores.mongo", "gateway.stores.postgres", "gateway.core.outbox"]
    )
    assert sorted(m for m in loaded if m.startswith("gateway.data")) == []
