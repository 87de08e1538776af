"""The documentation as one text: README.md, then docs/*.md by name (what the doc tests run)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCS = "\n".join(path.read_text() for path in FILES)
