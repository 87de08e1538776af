"""Deployment files: docker-compose.yml is valid and wires the gateway to both stores."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_is_valid() -> None:
    compose = _compose()
    if compose is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run([*compose, "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rendered = subprocess.run([*compose, "config"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    for needle in (
        "mongo:7",
        "postgres:16",
        "MONGO_URL: mongodb://mongo:27017",
        "DATABASE_URL: postgresql://",
        "OIDC_ISSUER",
    ):
        assert needle in rendered
    # Only the one-shot `migrate` knows the owner; the gateway serves as the login `migrate` creates.
    assert rendered.count("DATABASE_MIGRATE_URL: postgresql://omnify:") == 1
    assert rendered.count("DATABASE_URL: postgresql://omnify_gateway:") == 2
    assert rendered.count("DATABASE_SYSTEM_URL: postgresql://omnify_gateway_system:") == 2
