"""Debian's nginx in front of local gateways, configured by the compose stack's own deploy/nginx.conf.

The file is used as shipped except for the addresses: its `gateway-a:8000` and
`gateway-b:8000` upstreams become the local replicas, and its listen port a free one.
The nginx process runs in the foreground of a temporary prefix (no root, no system
files touched).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from gateway.ops.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "nginx.conf"
UPSTREAMS = ("gateway-a:8000", "gateway-b:8000")


class NginxUnavailable(Exception):
    """No nginx binary: the replica tests skip (scripts/setup installs Debian's nginx)."""


def _binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:
        raise NginxUnavailable("no nginx on PATH or in /usr/sbin (scripts/setup installs Debian's nginx)")
    return found


def local_config(upstreams: list[str], port: int) -> str:
    """deploy/nginx.conf with its upstream addresses and listen port replaced."""
    text = SHIPPED.read_text()
    for shipped, local in zip(UPSTREAMS, upstreams, strict=True):
        assert shipped in text, f"{SHIPPED} no longer names {shipped}"
        text = text.replace(shipped, local)
    text, listens = re.subn(r"listen 8080;", f"listen 127.0.0.1:{port};", text)
    assert listens == 1, f"{SHIPPED} should listen on 8080 once"
    return text


class Nginx:
    def __init__(self, prefix: Path, upstreams: list[str]) -> None:
        self.binary = _binary()
        self.prefix = prefix
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "gateway.conf").write_text(local_config(upstreams, self.port))
        temp = {name: prefix / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
        paths = "\n".join(f"    {name}_temp_path {path};" for name, path in temp.items())
        (prefix / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} warn;\n"
            f"events {{ worker_connections 1024; }}\nhttp {{\n    access_log off;\n{paths}\n"
            f"    include {prefix / 'gateway.conf'};\n}}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        prefix = str(self.prefix)
        command = [self.binary, "-p", prefix, "-e", f"{prefix}/error.log", "-c", f"{prefix}/nginx.conf"]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.url}/healthz", timeout=5)
                return self
            except httpx.TransportError:
                assert self.process.poll() is None, (self.prefix / "error.log").read_text()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
