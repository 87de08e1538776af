"""Deployment files: docker-compose.yml is valid, has no weak defaults, and runs the topology
the replica tests prove without Docker (two replicas behind deploy/nginx.conf, Redis,
MongoDB as a replica set)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SECRETS = (
    "POSTGRES_PASSWORD",
    "OMNIFY_DB_PASSWORD",
    "OMNIFY_DB_SYSTEM_PASSWORD",
    "OMNIFY_SESSION_SECRET",
    "OMNIFY_SECRET_KEY",
)
REQUIRED = (*SECRETS, "OIDC_ISSUER", "OIDC_AUDIENCE")
ENV = {name: f"test-{name.lower()}" for name in REQUIRED}


def _compose() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def _file() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _run(compose: list[str], env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # Only PATH and the given values: nothing from the developer's own environment or .env leaks in.
    clean = {"PATH": "/usr/local/bin:/usr/bin:/bin", **env}
    with tempfile.NamedTemporaryFile("w", suffix=".env") as empty:
        command = [*compose, "--env-file", empty.name, *args]
        return subprocess.run(command, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_compose_file_is_valid_and_refuses_to_start_without_its_secrets() -> None:
    compose = _compose()
    if compose is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = _run(compose, ENV, "config", "-q")
    assert result.returncode == 0, result.stderr
    rendered = _run(compose, ENV, "config").stdout
    # Only the one-shot jobs know the owner; the replicas serve as the logins `migrate` creates.
    assert rendered.count("DATABASE_MIGRATE_URL: postgresql://omnify:test-postgres_password@") == 2
    assert rendered.count("DATABASE_URL: postgresql://omnify_gateway:test-omnify_db_password@") == 4
    for name in REQUIRED:
        missing = _run(compose, {k: v for k, v in ENV.items() if k != name}, "config", "-q")
        assert missing.returncode != 0 and f"set {name} in .env" in missing.stderr, (name, missing.stderr)


def test_no_secret_has_a_default() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses and all(use.startswith(":?") for use in uses), (name, uses)
    assert "change-me" not in text and not re.search(r"PASSWORD: +[^$\s]", text)
    example = (ROOT / ".env.example").read_text()
    assert all(re.search(rf"^{name}=$", example, re.M) for name in REQUIRED)


def test_every_image_is_pinned_by_digest() -> None:
    services = _file()["services"]
    images = {name: s["image"] for name, s in services.items() if "image" in s and "build" not in s}
    built = {name for name, s in services.items() if s.get("image") == "omnify-gateway:local"}
    assert {"proxy", "redis", "mongo", "postgres"} <= set(images)
    for name, image in images.items():
        if name in built:
            continue
        assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", image), (name, image)
    base = re.search(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert base and re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", base.group(1)), base


def test_two_replicas_behind_the_proxy_share_redis_and_a_replica_set() -> None:
    services = _file()["services"]
    replicas = [name for name, s in services.items() if s.get("command") is None and s.get("build") == "."]
    assert sorted(replicas) == ["gateway-a", "gateway-b"], replicas
    for name in replicas:
        env = services[name]["environment"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert "replicaSet=rs0" in env["MONGO_URL"]
        assert "ports" not in services[name]  # reached through the proxy only
    assert "--replSet" in services["mongo"]["command"]
    assert "rs.initiate" in " ".join(services["mongo"]["healthcheck"]["test"])
    proxy = services["proxy"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server gateway-a:8000" in conf and "server gateway-b:8000" in conf
    assert services["seed"]["profiles"] == ["seed"] and services["issuer"]["profiles"] == ["demo"]
