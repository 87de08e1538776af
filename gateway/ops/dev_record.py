"""Where a running `dev` leaves word of its data dir, so that `token` finds the dev issuer from any directory."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

DEFAULT_DATA_DIR = ".omnify"  # dev's data dir, where `token` looks first


def running_dev_record() -> Path:
    """Where a running `dev` says which data dir it uses, so `token` finds it from any directory."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    return base / f"omnify-gateway-{os.getuid()}" / "dev.json"


def record_running_dev(data_dir: Path, url: str) -> None:
    record = running_dev_record()
    record.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    record.write_text(json.dumps({"data_dir": str(data_dir), "pid": os.getpid(), "url": url}))


def forget_running_dev() -> None:
    record = running_dev_record()
    with contextlib.suppress(OSError, ValueError):
        if json.loads(record.read_text()).get("pid") == os.getpid():
            record.unlink()


def running_dev_data_dir() -> Path | None:
    """The data dir of the `dev` that is running now, if any."""
    try:
        found = json.loads(running_dev_record().read_text())
        os.kill(int(found["pid"]), 0)  # raises when that process is gone
        return Path(str(found["data_dir"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
