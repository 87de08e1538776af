"""`omnify-gateway export-schema` and `manifest`: the schema's SDL and the trusted-documents manifest."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_export_schema(args: argparse.Namespace) -> int:
    from resolvers.schema import schema

    sdl = schema.as_str().rstrip() + "\n"
    path = Path(args.path)
    if args.check:
        current = path.read_text() if path.exists() else ""
        if current != sdl:
            print(f"{path} is stale; run `omnify-gateway export-schema` and commit it", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.write_text(sdl)
    print(f"wrote {path}")
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    """`manifest build`: the trusted-documents manifest of a client's .graphql files."""
    from gateway.core.manifest import ManifestProblem, build_operations, graphql_files, render_manifest

    try:
        operations = build_operations(graphql_files(args.sources))
    except ManifestProblem as exc:
        print(f"omnify-gateway manifest build: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(render_manifest(operations, args.format), indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}: {len(operations)} operations", file=sys.stderr)
    return 0
