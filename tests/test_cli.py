"""The command line: configuration errors, schema drift, and `dev` end to end."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from gateway.core.config import ConfigError, load_settings
from gateway.ops.embedded import free_port
from tests.conftest import Stores
from tests.support.issuer import AUDIENCE, TestIssuer

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "gateway.ops.cli"]


def test_config_names_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"MONGO_URL": "http://wrong", "OMNIFY_PORT": "eighty"})
    text = str(caught.value)
    assert "MONGO_URL must be a mongodb" in text
    assert "DATABASE_URL is not set" in text
    assert "DATABASE_SYSTEM_URL is not set" in text
    assert "OIDC_ISSUER is not set" in text
    assert "OMNIFY_PORT='eighty' is not an integer" in text


def test_config_accepts_a_complete_environment() -> None:
    settings = load_settings(
        {
            "MONGO_URL": "mongodb://mongo:27017",
            "DATABASE_URL": "postgresql://gw@pg:5432/brain",
            "DATABASE_SYSTEM_URL": "postgresql://gw_system@pg:5432/brain",
            "OIDC_ISSUER": "https://id.example.com/realms/omnify",
            "OIDC_AUDIENCE": "omnify-gateway",
            "OIDC_ROLES_CLAIM": "realm_access.roles",
        }
    )
    assert settings.issuers[0].roles_claim == "realm_access.roles"
    assert settings.mode == "production"
    assert settings.database_system_url == "postgresql://gw_system@pg:5432/brain" and settings.pg_system_pool_max == 4


def test_config_refuses_one_login_for_requests_and_system_work() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {
                "MONGO_URL": "mongodb://mongo:27017",
                "DATABASE_URL": "postgresql://gw:a@pg:5432/brain",
                "DATABASE_SYSTEM_URL": "postgresql://gw:b@pg:5432/brain",
                "OIDC_ISSUER": "https://id.example.com/realms/omnify",
                "OIDC_AUDIENCE": "omnify-gateway",
            }
        )
    assert "DATABASE_SYSTEM_URL names the same login as DATABASE_URL ('gw')" in str(caught.value)


def test_serve_refuses_to_start_without_configuration() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "DATABASE_URL", "OIDC_ISSUER", "OIDC_ISSUERS")}
    result = subprocess.run([*CLI, "serve"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2
    for name in ("MONGO_URL", "DATABASE_URL", "OIDC_ISSUER"):
        assert name in result.stderr


def test_schema_file_is_current() -> None:
    result = subprocess.run([*CLI, "export-schema", "--check"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_schema_check_detects_drift(tmp_path: Path) -> None:
    stale = tmp_path / "schema.graphql"
    stale.write_text((ROOT / "schema.graphql").read_text().replace("totalCount", "total"))
    result = subprocess.run(
        [*CLI, "export-schema", "--check", "--path", str(stale)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "stale" in result.stderr


def _start_dev(data_dir: Path, port: int, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [*CLI, "dev", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Application startup complete" in line:
            break
    output = "".join(lines)
    tokens = re.findall(r"^(eyJ[\w-]+\.[\w-]+\.[\w-]+)$", output, re.MULTILINE)
    assert tokens, output
    assert f"http://127.0.0.1:{port}/graphql" in output
    # Keep reading what dev prints: a pipe nobody reads fills up, and dev would block on its next
    # log line (its shutdown included).
    threading.Thread(target=lambda: [lines.append(line) for line in proc.stdout or ()], daemon=True).start()
    # uvicorn reports the application started before its socket listens: wait until it answers.
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            break
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
    return proc, tokens[0], output


def _stop(proc: subprocess.Popen[str], sig: int) -> None:
    proc.send_signal(sig)
    proc.wait(timeout=60)


@pytest.mark.slow
def test_dev_serves_both_stores_and_restarts_with_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "dev"
    port = free_port()
    # Where a running dev leaves its data dir for `token`: private to this test.
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc, token, output = _start_dev(data_dir, port, env)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
        query = "{ viewer { __typename } organization { name slug plan subscription { status } campaigns(first: 5) { totalCount edges { node { name } } } } }"
        body = httpx.post(
            f"{base}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()
        assert "errors" not in body, body
        assert body["data"]["organization"]["plan"] == "ENTERPRISE"
        assert body["data"]["organization"]["campaigns"]["totalCount"] == 60
        # dev makes (and keeps) its own master key for credential secrets: they can be stored.
        created = httpx.post(
            f"{base}/graphql",
            json={
                "query": "mutation($s: String!) { createCredential(input: {platform: META, secret: $s}) "
                "{ credential { version } userErrors { code } } }",
                "variables": {"s": "dev-secret-0123456789"},
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        assert created["data"]["createCredential"] == {"credential": {"version": 1}, "userErrors": []}, created
        assert (data_dir / "secret-key").stat().st_mode & 0o777 == 0o600
        # A second `dev` on the same data dir is refused with a clear message.
        second = subprocess.run(
            [*CLI, "dev", "--data-dir", str(data_dir), "--port", str(free_port())],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert second.returncode == 1 and "in use" in second.stderr
        # `token` mints for the running dev issuer, found from any directory without --data-dir,
        # and prints nothing else (no library warnings).
        result = subprocess.run(
            [*CLI, "token", "--org", "globex", "--role", "viewer"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=elsewhere,
            env=env,
        )
        assert result.returncode == 0 and result.stderr == "", result.stderr
        minted = result.stdout.strip()
        body = httpx.post(
            f"{base}/graphql",
            json={"query": "{ organization { slug } }"},
            headers={"Authorization": f"Bearer {minted}"},
            timeout=30,
        ).json()
        assert body["data"]["organization"]["slug"] == "globex"
        # ... and for a person invited by e-mail who belongs to no organization yet.
        invitee = subprocess.run(
            [*CLI, "token", "--invitee", "new@globex.example", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        ).stdout.strip()
        body = httpx.post(
            f"{base}/graphql",
            json={"query": "{ viewer { kind email organization { slug } } }"},
            headers={"Authorization": f"Bearer {invitee}"},
            timeout=30,
        ).json()
        assert body["data"]["viewer"] == {"kind": "INVITEE", "email": "new@globex.example", "organization": None}
        # The environment dev prints runs `serve` on the same stores and issuer.
        _serve_with_the_printed_environment(output, token)
    finally:
        _stop(proc, signal.SIGTERM)
    assert proc.returncode == 0
    assert not (data_dir / "postgres" / "postmaster.pid").exists()  # postgres stopped cleanly
    # With no dev running, `token` says where it looked and how to point it at a data dir.
    missing = subprocess.run(
        [*CLI, "token", "--org", "acme"], capture_output=True, text=True, timeout=60, cwd=elsewhere, env=env
    )
    assert missing.returncode == 2 and "--data-dir" in missing.stderr and str(elsewhere) in missing.stderr

    # Restart: no second seed, same data, and SIGINT stops it as cleanly.
    proc, token, _ = _start_dev(data_dir, port)
    try:
        body = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ organization { campaigns { totalCount } } }"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        assert body["data"]["organization"]["campaigns"]["totalCount"] == 60
    finally:
        _stop(proc, signal.SIGINT)
    assert proc.returncode == 0
    assert not (data_dir / "postgres" / "postmaster.pid").exists()


def _serve_with_the_printed_environment(dev_output: str, token: str) -> None:
    block = re.search(r"^  export (.*?)\n  omnify-gateway serve$", dev_output, re.MULTILINE | re.DOTALL)
    assert block is not None, dev_output
    printed = dict(shlex.split(line.rstrip(" \\"))[0].split("=", 1) for line in block.group(1).splitlines())
    assert {"DATABASE_URL", "DATABASE_SYSTEM_URL", "MONGO_URL", "OIDC_ISSUER", "OIDC_AUDIENCE"} <= set(printed)
    port = free_port()
    serve = subprocess.Popen(
        [*CLI, "serve", "--workers", "1"],
        env={**os.environ, **printed, "OMNIFY_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={"query": "{ organization { slug } }"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                ).json()
                break
            except httpx.TransportError:
                assert serve.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.5)
        assert answer == {"data": {"organization": {"slug": "acme"}}}, answer
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_serve_runs_several_workers_and_stops_on_sigterm(seeded: Stores, issuer: TestIssuer) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": seeded.app_url,
        "DATABASE_SYSTEM_URL": seeded.system_url,
        "MONGO_URL": seeded.mongo_url,
        "MONGO_DB": seeded.mongo_db,
        "OIDC_ISSUER": issuer.url,
        "OIDC_AUDIENCE": AUDIENCE,
        "OMNIFY_HOST": "127.0.0.1",
        "OMNIFY_PORT": str(port),
        "OMNIFY_WORKERS": "5",  # the flag wins over the environment
    }
    proc = subprocess.Popen(
        [*CLI, "serve", "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    pids: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while len(pids) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, "serve exited early"
            # Fresh connections, several at once: the kernel hands them to whichever worker accepts.
            with httpx.Client(base_url=base, timeout=10) as http:
                try:
                    pids.add(http.get("/healthz").json()["pid"])
                    body = http.post(
                        "/graphql",
                        json={"query": "{ organization { slug } }"},
                        headers={"Authorization": f"Bearer {issuer.token()}"},
                    ).json()
                    assert body["data"]["organization"]["slug"] == "acme", body
                except httpx.TransportError:
                    time.sleep(0.2)  # still starting
        assert len(pids) == 2, pids
        assert proc.pid not in pids  # the supervisor itself serves nothing
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)
