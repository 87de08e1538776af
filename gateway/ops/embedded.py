"""Embedded stores for `dev` and the test suite.

PostgreSQL comes from the `pgserver` wheel (real PostgreSQL binaries) and the
MongoDB stand-in from `nx-27017`. Both keep their data under one data dir, so
a restart finds what the previous run left. We drive the binaries ourselves
rather than through `pgserver.get_server` so that we pick the TCP port, the
log location and the moment of shutdown.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PG_SYSTEM_USER = "pgserver"  # postgres refuses to run as root
PG_APP_LOGIN = "omnify_gateway"
PG_SYSTEM_LOGIN = "omnify_gateway_system"


class EmbeddedError(RuntimeError):
    pass


def _installed(module: str, package: str) -> None:
    # The embedded stores are the `dev` extra: a production install goes without them.
    if importlib.util.find_spec(module) is None:
        raise EmbeddedError(
            f"the embedded stores are not installed ({package} is missing): "
            "pip install 'omnify-gateway[dev]', as ./scripts/setup does"
        )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise EmbeddedError(f"process exited with code {proc.returncode} before listening on {host}:{port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise EmbeddedError(f"nothing listening on {host}:{port} after {timeout:.0f}s")


@dataclass
class DataDirLock:
    """An exclusive lock on a data dir, so two `dev` runs cannot share one."""

    path: Path
    _file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise EmbeddedError(
                f"data dir {self.path.parent} is in use by {holder}; "
                "stop that `omnify-gateway dev` or pass another --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"omnify-gateway (pid {os.getpid()})")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _pg_bin(name: str) -> str:
    with warnings.catch_warnings():
        # pgserver looks up a runtime dir on import, which warns on headless machines.
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _prepare_for_root(pgdata: Path) -> str | None:
    """When running as root, run postgres as an unprivileged system user."""
    if os.geteuid() != 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH
        from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

    entry = ensure_user_exists(PG_SYSTEM_USER)
    assert entry is not None
    ensure_prefix_permissions(pgdata)
    # The binaries too: a checkout (and its .venv) may sit in a directory only root can enter,
    # such as one made by `mktemp -d` (0700).
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    for path in [POSTGRES_BIN_PATH, POSTGRES_BIN_PATH.parent / "lib", POSTGRES_BIN_PATH.parent / "share"]:
        if path.exists():
            for sub in [path, *path.rglob("*")]:
                mode = sub.stat().st_mode
                sub.chmod(mode | 0o044 | (0o011 if sub.is_dir() or mode & 0o100 else 0))
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    return PG_SYSTEM_USER


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    user: str | None = None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def url(self) -> str:
        """The superuser, which owns the schema: migrations and seeding."""
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    @property
    def app_url(self) -> str:
        """The gateway's restricted login (`omnify-gateway migrate` creates it; local trust, no password)."""
        return f"postgresql://{PG_APP_LOGIN}@{self.host}:{self.port}/postgres"

    @property
    def system_url(self) -> str:
        """The gateway's system login, for its cross-tenant work (created like `app_url`'s)."""
        return f"postgresql://{PG_SYSTEM_LOGIN}@{self.host}:{self.port}/postgres"

    def _run(self, args: list[str], timeout: float = 120) -> None:
        result = subprocess.run(
            args,
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,  # a terminal's Ctrl-C must not reach postgres directly
        )
        if result.returncode != 0:
            log = self.pgdata / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise EmbeddedError(f"{Path(args[0]).name} failed: {result.stderr.strip()}\n{tail}")

    def start(self) -> None:
        _installed("pgserver", "pgserver")
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.user = _prepare_for_root(self.pgdata)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run([_pg_bin("initdb"), "-D", str(self.pgdata), "--auth=trust", "-U", "postgres", "--encoding=utf8"])
        self.port = self.port or free_port(self.host)
        options = f"-h {self.host} -p {self.port} -k '' -c max_connections=200 -c fsync=off"
        self._run(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.pgdata / "server.log"),
                "-o",
                options,
                "start",
            ]
        )
        wait_for_port(self.host, self.port, timeout=30)

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            with contextlib.suppress(EmbeddedError, subprocess.TimeoutExpired):
                self._run([_pg_bin("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"], timeout=60)


@dataclass
class EmbeddedMongo:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def directory(self) -> Path:
        return self.data_dir / "mongo"

    @property
    def url(self) -> str:
        return f"mongodb://{self.host}:{self.port}/"

    def start(self) -> None:
        _installed("nx_27017", "nx-27017")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port(self.host)
        command = [
            sys.executable,
            "-c",
            "from nx_27017.nx_27017 import main; main()",
            "--data-dir",
            str(self.directory),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--log-file",
            str(self.directory / "server.log"),
            "--pid-file",
            str(self.directory / "server.pid"),
        ]
        with contextlib.suppress(FileNotFoundError):
            (self.directory / "server.pid").unlink()  # a stale pid file makes nx-27017 refuse to start
        log = (self.directory / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        log.close()
        wait_for_port(self.host, self.port, timeout=30, proc=self.process)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
