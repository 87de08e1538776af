"""A local copy of the CDN files strawberry's GraphiQL page loads, for a browser without internet.

The page pulls React, GraphiQL and friends from unpkg.com, which this machine
(and CI) cannot reach; npm's registry it can. unpkg serves files straight out
of the npm tarballs, so the same package versions, fetched with `npm pack`,
give byte-identical files, and the page's Subresource Integrity hashes make
the browser itself check that. Tarballs are unpacked once into the venv.
"""

from __future__ import annotations

import mimetypes
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from playwright.async_api import Route
from strawberry.http.ides import get_graphql_ide_html

CDN = "https://unpkg.com/"
# unpkg.com/<name>@<version>/<path>, where <name> may be scoped (@graphiql/plugin-explorer).
ASSET = re.compile(r"https://unpkg\.com/((?:@[\w.-]+/)?[\w.-]+)@([\w.-]+)/([^\"'\s]+)")
CACHE = Path(sys.prefix) / "cdn-mirror"


class MirrorUnavailable(Exception):
    """The packages could not be fetched (no npm, or no registry): the browser test skips."""


@dataclass
class CdnMirror:
    root: Path

    @classmethod
    def for_graphiql(cls, cache: Path = CACHE) -> CdnMirror:
        packages = {(name, version) for name, version, _ in ASSET.findall(get_graphql_ide_html("graphiql"))}
        if not packages:
            raise MirrorUnavailable("strawberry's GraphiQL page names no unpkg.com assets to mirror")
        for name, version in sorted(packages):
            _ensure_package(cache, name, version)
        return cls(cache)

    def file_for(self, url: str) -> Path | None:
        match = ASSET.fullmatch(url.split("?")[0])
        if match is None:
            return None
        name, version, path = match.groups()
        file = (self.root / f"{name}@{version}" / "package" / path).resolve()
        return file if file.is_file() and file.is_relative_to(self.root.resolve()) else None

    async def route(self, route: Route) -> None:
        """Answer CDN requests from the mirror, let the local gateway through, refuse the rest."""
        url = route.request.url
        if url.startswith(CDN):
            file = self.file_for(url)
            if file is None:
                await route.fulfill(status=404, body=f"not mirrored: {url}")
                return
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            # The page loads these with `crossorigin`, so SRI needs a CORS-enabled response.
            await route.fulfill(path=file, content_type=content_type, headers={"Access-Control-Allow-Origin": "*"})
        elif urlparse(url).hostname in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            await route.abort()


def _ensure_package(cache: Path, name: str, version: str) -> None:
    target = cache / f"{name}@{version}"
    if (target / "package").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise MirrorUnavailable("npm is not installed, so GraphiQL's assets cannot be fetched")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        try:
            done = subprocess.run(
                [npm, "pack", "--silent", "--pack-destination", work, f"{name}@{version}"],
                capture_output=True,
                text=True,
                timeout=180,
                check=True,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise MirrorUnavailable(f"npm pack {name}@{version} failed: {exc}") from None
        tarball = Path(work) / done.stdout.strip().splitlines()[-1]
        unpacked = Path(work) / "unpacked"
        with tarfile.open(tarball) as archive:
            archive.extractall(unpacked, filter="data")
        # Renamed into place whole, so a concurrent or interrupted run never sees half a package.
        try:
            unpacked.rename(target)
        except OSError:
            if not (target / "package").is_dir():
                raise
