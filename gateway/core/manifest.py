"""Trusted documents: the manifest of the documents a client was built with, by SHA-256 hash.

Two formats are read (and written by `omnify-gateway manifest build`): GraphQL Code
Generator's `persisted-documents.json` (`{"<hash>": "<document>"}`) and Apollo's
persisted-query manifest (`{"format": "apollo-persisted-query-manifest", "version": 1,
"operations": [{"id", "name", "type", "body"}]}`). Every hash is checked against its
document when the manifest is read: a manifest that lies about a hash is refused whole.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from graphql import DocumentNode, FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, parse, print_ast
from graphql.language import FragmentSpreadNode, Visitor, visit

APOLLO_FORMAT = "apollo-persisted-query-manifest"
# SHA-256 (APQ, Apollo, the GraphQL-over-HTTP draft) or SHA-1 (older GraphQL Code Generator's default), in hex.
HEX_ID = re.compile(r"[0-9a-f]{64}|[0-9a-f]{40}")


def document_hash(document: str, algorithm: str = "sha256") -> str:
    """The lower-case hex digest of a document's UTF-8 text (what APQ and the manifests use)."""
    return hashlib.new(algorithm, document.encode("utf-8", "surrogatepass")).hexdigest()


def hash_of_id(document_id: str) -> str | None:
    """The hex hash a document id names (`sha256:<hex>`, or bare SHA-256 or SHA-1 hex), or None if it names none."""
    if document_id.startswith("sha256:"):
        payload = document_id[7:]
        return payload if len(payload) == 64 and HEX_ID.fullmatch(payload) else None
    return document_id if HEX_ID.fullmatch(document_id) else None


def hash_matches(digest: str, document: str) -> bool:
    return document_hash(document, "sha1" if len(digest) == 40 else "sha256") == digest


def _entries(decoded: object) -> tuple[list[tuple[str, str, object]], str | None]:
    """(id, name, body) of each document, or why the manifest is neither format."""
    if isinstance(decoded, dict) and decoded.get("format") == APOLLO_FORMAT:
        if decoded.get("version") != 1:
            return [], f"version {decoded.get('version')!r} of {APOLLO_FORMAT} is not supported (only 1)"
        operations = decoded.get("operations")
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            return [], "`operations` must be a list of objects with id, name, type and body"
        return [(str(o.get("id")), str(o.get("name")), o.get("body")) for o in operations], None
    if isinstance(decoded, dict):
        return [(str(key), str(key)[:16], body) for key, body in decoded.items()], None
    return [], f'expected {{"<sha256>": "<document>"}} or an {APOLLO_FORMAT} object'


def parse_manifest(raw: bytes, where: str) -> tuple[dict[str, str], list[str]]:
    """The documents by hash, and the problems (each naming `where`); any problem refuses the manifest."""
    try:
        decoded = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return {}, [f"{where} is not valid JSON: {exc}"]
    entries, wrong = _entries(decoded)
    if wrong:
        return {}, [f"{where}: {wrong}"]
    documents: dict[str, str] = {}
    malformed: list[str] = []
    mismatched: list[str] = []
    for document_id, name, body in entries:
        digest = hash_of_id(document_id.lower())
        if digest is None or not isinstance(body, str) or not body.strip():
            malformed.append(f"{document_id[:80]!r} ({name})")
        elif not hash_matches(digest, body):
            mismatched.append(f"{digest} ({name})")
        else:
            documents[digest] = body
    problems = []
    if malformed:
        problems.append(f"{where}: entries without a SHA-256 (or SHA-1) hex id and a document: {', '.join(malformed)}")
    if mismatched:
        problems.append(
            f"{where}: documents that do not match their hash (the SHA-256 or SHA-1 of the document's text): "
            + ", ".join(mismatched)
        )
    if not documents and not problems:
        problems.append(f"{where} lists no documents")
    return documents, problems


def read_manifest(path: str, setting: str) -> tuple[dict[str, str], list[str]]:
    where = f"{setting} ({path})"
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return {}, [f"{where} cannot be read: {exc.strerror or exc}"]
    return parse_manifest(raw, where)


# --- building a manifest from .graphql files -------------------------------------------------


@dataclass(frozen=True)
class Operation:
    name: str
    type: str
    body: str

    @property
    def id(self) -> str:
        return document_hash(self.body)


class ManifestProblem(Exception):
    """A source the manifest cannot be built from (unreadable, invalid, ambiguous)."""


def graphql_files(paths: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".graphql", ".gql") and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise ManifestProblem(f"{given}: no such file or directory")
    if not files:
        raise ManifestProblem("no .graphql files found")
    return files


def _spreads(node: OperationDefinitionNode | FragmentDefinitionNode) -> list[str]:
    names: list[str] = []

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: object) -> None:
            names.append(spread.name.value)

    visit(node, Spreads())
    return names


def _needed(operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    """The fragments an operation uses, directly or through others, in order of first use."""
    order: list[str] = []
    pending = _spreads(operation)
    while pending:
        name = pending.pop(0)
        if name in order:
            continue
        if name not in fragments:
            raise ManifestProblem(f"operation {operation.name.value if operation.name else '?'} uses unknown ...{name}")
        order.append(name)
        pending += _spreads(fragments[name])
    return order


def build_operations(files: Iterable[Path]) -> list[Operation]:
    """One persisted operation per named operation: its definition and the fragments it needs, printed."""
    operations: list[tuple[OperationDefinitionNode, Path]] = []
    fragments: dict[str, FragmentDefinitionNode] = {}
    for path in files:
        try:
            document = parse(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, GraphQLError) as exc:
            raise ManifestProblem(f"{path}: {exc}") from None
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                name = definition.name.value
                if name in fragments and print_ast(fragments[name]) != print_ast(definition):
                    raise ManifestProblem(f"{path}: fragment {name} is defined twice, differently")
                fragments[name] = definition
            elif isinstance(definition, OperationDefinitionNode):
                if definition.name is None:
                    raise ManifestProblem(f"{path}: an operation has no name (the manifest lists operations by name)")
                operations.append((definition, path))
            else:
                raise ManifestProblem(f"{path}: only operations and fragments belong in a client document")
    built: dict[str, Operation] = {}
    for operation, path in operations:
        name = operation.name.value if operation.name else ""
        if name in built:
            raise ManifestProblem(f"{path}: operation {name} is defined twice")
        needed = [fragments[n] for n in _needed(operation, fragments)]
        body = print_ast(DocumentNode(definitions=(operation, *needed)))
        built[name] = Operation(name, operation.operation.value, body)
    if not built:
        raise ManifestProblem("the files define no operation")
    return list(built.values())


def render_manifest(operations: Iterable[Operation], form: str) -> dict[str, object]:
    if form == "apollo":
        listed = [{"id": o.id, "name": o.name, "type": o.type, "body": o.body} for o in operations]
        return {"format": APOLLO_FORMAT, "version": 1, "operations": listed}
    return {o.id: o.body for o in operations}
