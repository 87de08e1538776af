"""A reproducible install: the locks, the extras, and a production install that runs without the dev stores."""

from __future__ import annotations

import importlib.metadata
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from gateway.ops.embedded import free_port
from tests.conftest import Stores
from tests.support.issuer import AUDIENCE, TestIssuer

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
DEV_STORES = {"pgserver", "nx-27017"}
# The libraries whose internals resolvers/execution uses (resolvers/execution/internals.py).
HELD_BELOW_NEXT_MINOR = {"strawberry-graphql", "graphql-core"}


def _pins(lock: str) -> dict[str, str]:
    """Name -> version of every requirement of a lock file, each of which must carry hashes."""
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    pins: dict[str, str] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = entry.split(" \\", 1)[0].split(";", 1)[0].strip()
        if not head or head.startswith("#"):
            continue
        assert "--hash=sha256:" in entry, f"{lock}: {head} has no hash"
        name, version = head.split("==")
        pins[canonicalize_name(name)] = version
    return pins


def _requirements(names: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, names)}


def test_a_production_install_goes_without_the_dev_stores() -> None:
    production = _requirements(PYPROJECT["dependencies"])
    assert DEV_STORES.isdisjoint(production)
    assert set(_requirements(PYPROJECT["optional-dependencies"]["dev"])) == DEV_STORES
    assert DEV_STORES.isdisjoint(_pins("lock.txt"))
    assert set(_pins("test-lock.txt")) >= DEV_STORES
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --no-cache-dir --require-hashes -r requirements/lock.txt" in dockerfile
    assert "pip install --no-cache-dir --no-deps ." in dockerfile
    assert "[dev]" not in dockerfile and "test-lock" not in dockerfile


def test_what_ships_is_what_the_suite_runs_on() -> None:
    production, tested = _pins("lock.txt"), _pins("test-lock.txt")
    assert {name: tested.get(name) for name in production} == production
    # pyproject's bounds admit the locked versions, and this environment was installed from the lock
    for name, requirement in _requirements(PYPROJECT["dependencies"]).items():
        assert requirement.specifier.contains(production[name]), f"{name}=={production[name]} against {requirement}"
    for name, version in tested.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # a platform's or an older Python's only (the lock covers them all)
        assert installed == version, f"{name} {installed} is installed, the lock says {version}: run ./scripts/setup"


def test_the_libraries_whose_internals_we_use_are_held_below_their_next_minor() -> None:
    production = _requirements(PYPROJECT["dependencies"])
    for name in HELD_BELOW_NEXT_MINOR:
        locked = _pins("lock.txt")[name].split(".")
        upper = {spec.version for spec in production[name].specifier if spec.operator == "<"}
        assert upper == {f"{locked[0]}.{int(locked[1]) + 1}"}, f"{name}: {production[name]} (locked {locked})"


# Imported first of all by every process started with it on PYTHONPATH (serve's workers too):
# an import of a dev store then fails the way it would on a production install.
_NO_DEV_STORES = """
import sys

class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pgserver", "nx_27017"):
            raise ImportError(f"{name} is a dev store, absent from a production install")
        return None

sys.meta_path.insert(0, _Refuse())
"""


@pytest.mark.slow
def test_serve_runs_without_the_dev_stores(tmp_path: Path, seeded: Stores, issuer: TestIssuer) -> None:
    (tmp_path / "sitecustomize.py").write_text(_NO_DEV_STORES, encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "DATABASE_URL": seeded.app_url,
        "DATABASE_SYSTEM_URL": seeded.system_url,
        "MONGO_URL": seeded.mongo_url,
        "MONGO_DB": seeded.mongo_db,
        "OIDC_ISSUER": issuer.url,
        "OIDC_AUDIENCE": AUDIENCE,
        "OMNIFY_HOST": "127.0.0.1",
        "OMNIFY_PORT": str(port),
    }
    refused = subprocess.run(
        [sys.executable, "-c", "import pgserver"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "absent from a production install" in refused.stderr  # the refusal is in force
    serve = subprocess.Popen(
        [sys.executable, "-m", "gateway.ops.cli", "serve", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 180
        body: dict[str, object] = {}
        while time.monotonic() < deadline and not body:
            assert serve.poll() is None, "serve exited early"
            try:
                body = httpx.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={"query": "{ organization { slug } }"},
                    headers={"Authorization": f"Bearer {issuer.token()}"},
                    timeout=10,
                ).json()
            except httpx.TransportError:
                time.sleep(0.2)  # still starting
        assert body == {"data": {"organization": {"slug": "acme"}}}
    finally:
        serve.send_signal(signal.SIGTERM)
        _, stderr = serve.communicate(timeout=60)
    assert "dev store" not in stderr.decode(), stderr.decode()[-2000:]
