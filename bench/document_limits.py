"""How long a document takes before it runs: parse, shape, validation, cost and planning, per shape.

    .venv/bin/python bench/document_limits.py [--repeat 3] [--only NAME]

In process, no stores: each document of the corpus (legitimate ones first, then
denial-of-service shapes, each at the largest size the limits let through and
past it) goes through the steps of `resolvers.common.checks` with the default
limits and the garbage collector tuned as in a serving worker, then through the planner of the planned executor, which builds every
selection plan eagerly (at run time they are built as values reach them).
Prints the processor time of each step (best of --repeat, in ms) and what
refused the document, if anything. A document refused at a step is not timed
beyond it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graphql import DocumentNode, GraphQLError, GraphQLSchema, get_introspection_query, parse, specified_rules
from graphql.execution.executor import Executor
from strawberry.schema.schema import validate_document

from gateway.core.runtime import tune_gc
from resolvers.common.checks import ABORTED
from resolvers.common.cost import estimate_cost
from resolvers.common.shape import ShapeLimits, check_shape
from resolvers.execution import compiled
from resolvers.execution.plan import ABSTRACT, LIST, OBJECT, SelectionPlan, Unplannable
from resolvers.execution.planning import DocumentPlan, object_plan
from resolvers.schema import Limits, build_schema

ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits()
SHAPE = ShapeLimits(max_depth=LIMITS.max_depth, max_aliases=LIMITS.max_aliases, max_fields=LIMITS.max_fields)
RANGE = {"from": "2024-01-01", "to": "2024-01-31"}


def relay_page(components: int, per_object: int) -> str:
    """A Relay-style page: components colocate fragments, each selecting `id` and a field or two."""
    org = [f"fragment Org{i}_organization on Organization {{ id name }}" for i in range(per_object)]
    rows = [f"fragment Row{i}_campaign on Campaign {{ id name status }}" for i in range(per_object)]
    kids = [f"fragment Creative{i}_creative on Creative {{ id name }}" for i in range(components)]
    spread = " ".join
    return (
        "query PageQuery($first: Int!) { organization { "
        + spread(f"...Org{i}_organization" for i in range(per_object))
        + " campaigns(first: $first) { edges { node { "
        + spread(f"...Row{i}_campaign" for i in range(per_object))
        + " creatives(first: 5) { edges { node { "
        + spread(f"...Creative{i}_creative" for i in range(components))
        + " } } } } } } } }\n"
        + "\n".join(org + rows + kids)
    )


def bomb(levels: int) -> str:
    fragments = ["fragment F0 on Viewer { kind subject }"]
    fragments += [f"fragment F{i} on Viewer {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"{{ viewer {{ ...F{levels} }} }}\n" + "\n".join(fragments)


def inline_bomb(levels: int) -> str:
    inner = "kind"
    for _ in range(levels):
        inner = f"... on Viewer {{ {inner} }} ... on Viewer {{ {inner} }}"
    return "{ viewer { " + inner + " } }"


def same_name(count: int) -> str:
    return "{ organization { " + " ".join(["name"] * count) + " } }"


def nested_same(outer: int, inner: int) -> str:
    fields = " ".join(["organization { name }"] * inner)
    return "{ " + " ".join([f"viewer {{ {fields} }}"] * outer) + " }"


def conflicting_arguments(count: int) -> str:
    return (
        "{ organization { "
        + " ".join(f"c: campaigns(first: {i % 100 + 1}) {{ totalCount }}" for i in range(count))
        + " } }"
    )


def spreads(count: int) -> str:
    fragments = [f"fragment S{i} on Organization {{ name slug }}" for i in range(count)]
    return "{ organization { " + " ".join(f"...S{i}" for i in range(count)) + " } }\n" + "\n".join(fragments)


def fragment_chain(count: int) -> str:
    fragments = [
        f"fragment C{i} on Organization {{ id {f'...C{i + 1}' if i + 1 < count else 'slug'} }}" for i in range(count)
    ]
    return "{ organization { ...C0 } }\n" + "\n".join(fragments)


def fragment_tree(count: int) -> str:
    """Fragments spreading two others each, each selecting one field (a few merges per name)."""
    names = ["id", "name", "externalId", "status", "objective", "startDate", "endDate", "createdAt", "updatedAt"]
    fragments = []
    for i in range(count):
        kids = " ".join(f"...T{j}" for j in (2 * i + 1, 2 * i + 2) if j < count)
        fragments.append(f"fragment T{i} on Campaign {{ {names[i % len(names)]} {kids} }}")
    return "{ organization { campaigns(first: 1) { edges { node { ...T0 } } } } }\n" + "\n".join(fragments)


def variables(count: int) -> str:
    return (
        "query Q("
        + ", ".join(f"$v{i}: Boolean!" for i in range(count))
        + ") { viewer { "
        + " ".join(f"a{i}: kind @include(if: $v{i})" for i in range(min(count, 30)))
        + " } }"
    )


def directives(per_field: int, fields: int) -> str:
    marks = " ".join(["@include(if: true)"] * per_field)
    return "{ organization { " + " ".join(f"a{i}: name {marks}" for i in range(fields)) + " } }"


def big_list(values: int) -> str:
    statuses = ", ".join(["ACTIVE"] * values)
    return f"{{ organization {{ campaigns(first: 1, filter: {{status: [{statuses}]}}) {{ totalCount }} }} }}"


def operations(count: int) -> str:
    return "\n".join(f"query Q{i} {{ viewer {{ kind subject email }} }}" for i in range(count))


def deep(levels: int) -> str:
    inner = "name"
    for _ in range(levels):
        inner = f"campaigns(first: 1) {{ edges {{ node {{ channel {{ {inner} }} }} }} }}"
    return "{ organization { channels(first: 1) { edges { node { " + inner + " } } } } }"


def wide(fields: int) -> str:
    """Many fields once a fragment is inlined: one fragment of Campaign fields spread under many parents."""
    body = "id name externalId status objective startDate endDate createdAt updatedAt dailyBudget { amount currency }"
    parents = " ".join(
        f'p{i}: campaigns(first: 1, after: "{i}") {{ edges {{ node {{ ...Wide }} }} }}' for i in range(fields)
    )
    return "{ organization { " + parents + " } }\nfragment Wide on Campaign { " + body + " }"


def wide_distinct(parents: int) -> str:
    """Many fields in plans that all differ: each parent selects the same fields in another order."""
    names = ["id", "name", "externalId", "status", "objective", "startDate", "endDate", "createdAt", "updatedAt"]
    channel = "name platform status"
    parts = []
    for i in range(parents):
        order = names[i % len(names) :] + names[: i % len(names)]
        node = " ".join(order[: 5 + i % 5]) + f" dailyBudget {{ amount currency }} channel {{ {channel} }}"
        parts.append(f"p{i}: campaigns(first: 1) {{ totalCount edges {{ cursor node {{ {node} }} }} }}")
    return "{ organization { " + " ".join(parts) + " } }"


def wide_nested(parents: int) -> str:
    """The largest planned document found within the limits: different selections two lists deep."""
    names = ["id", "name", "externalId", "status", "objective", "startDate", "endDate", "createdAt", "updatedAt"]
    creative = ["id", "name", "status", "format", "headline", "createdAt", "updatedAt"]
    parts = []
    for i in range(parents):
        order = names[i % len(names) :] + names[: i % len(names)]
        inner = " ".join((creative[i % len(creative) :] + creative[: i % len(creative)])[: 3 + i % 4])
        node = " ".join(order[: 5 + i % 5]) + " dailyBudget { amount currency } channel { name platform status }"
        node += f" creatives(first: 1) {{ totalCount edges {{ cursor node {{ {inner} campaign {{ {' '.join(order[:4])} }} }} }} }}"
        parts.append(f"p{i}: campaigns(first: 1) {{ totalCount edges {{ cursor node {{ {node} }} }} }}")
    return "{ organization { " + " ".join(parts) + " } }"


def of_type(levels: int) -> str:
    return '{ __type(name: "Campaign") { fields { type { ' + "ofType { " * levels + "name" + " }" * levels + " } } } }"


def comment(chars: int) -> str:
    return "# " + "x" * (chars - 40) + "\n{ viewer { kind } }"


def block_string(chars: int) -> str:
    return (
        '{ organization { campaigns(first: 1, filter: {nameContains: """'
        + "x" * (chars - 120)
        + '"""}) { totalCount } } }'
    )


INTROSPECTION = get_introspection_query(
    descriptions=True, input_value_deprecation=True, schema_description=True, directive_is_repeatable=True
)
FULL_TYPE = INTROSPECTION[INTROSPECTION.index("fragment FullType") :]


def corpus() -> list[tuple[str, str, dict[str, Any]]]:
    examples = (ROOT / "gateway/http/static/graphiql/examples.graphql").read_text()
    legit = [
        ("introspection (GraphiQL)", INTROSPECTION, {}),
        ("bench/dashboard.graphql", (ROOT / "bench/dashboard.graphql").read_text(), {**RANGE, "n": 20, "m": 10}),
        ("bench/campaigns.graphql", (ROOT / "bench/campaigns.graphql").read_text(), {}),
        *(
            (
                f"example {i + 1}",
                query,
                {**RANGE, "w1": "2024-01-01", "w1end": "2024-01-07", "w2": "2024-01-08", "w2end": "2024-01-14"},
            )
            for i, query in enumerate(q for q in examples.split("\n\n") if "query" in q)
        ),
        ("relay page (10 fragments per object)", relay_page(10, 10), {"first": 20}),
        ("relay page (30 fragments per object)", relay_page(30, 30), {"first": 20}),
    ]
    hostile = [
        *((f"fragment bomb {n}", bomb(n), {}) for n in (6, 7, 10, 20, 40)),
        *((f"inline fragment bomb {n}", inline_bomb(n), {}) for n in (6, 7, 9)),
        *((f"same name x{n}", same_name(n), {}) for n in (50, 51, 1200)),
        *((f"nested same name {a}x{b}", nested_same(a, b), {}) for a, b in ((7, 7), (8, 8), (30, 30))),
        *((f"conflicting arguments x{n}", conflicting_arguments(n), {}) for n in (100, 500)),
        *((f"fragment spreads x{n}", spreads(n), {}) for n in (30, 31, 400)),
        *((f"fragment chain {n}", fragment_chain(n), {}) for n in (50, 60, 61, 300)),
        *((f"fragment tree {n}", fragment_tree(n), {}) for n in (30, 60)),
        *((f"variables x{n}", variables(n), {f"v{i}": True for i in range(n)}) for n in (30, 50, 51, 500)),
        *((f"directives {d}x{f}", directives(d, f), {}) for d, f in ((4, 30), (5, 1), (2000, 1))),
        *((f"list literal x{n}", big_list(n), {}) for n in (500, 501, 2400)),
        *((f"operations x{n}", operations(n), {}) for n in (10, 11, 300)),
        *((f"deep x{n}", deep(n), {}) for n in (2, 3, 40)),
        ("wide (one fragment under 30 parents)", wide(30), {}),
        ("wide (30 different selections)", wide_distinct(30), {}),
        *((f"wide nested ({n} different selections)", wide_nested(n), {}) for n in (23, 25)),
        (
            "introspection x2 (aliases)",
            "{ a: __schema { ...S } b: __schema { ...S } }\nfragment S on __Schema { types { ...FullType } }\n"
            + FULL_TYPE,
            {},
        ),
        (
            "introspection x30 (aliases)",
            "{ "
            + " ".join(f"a{i}: __schema {{ ...S }}" for i in range(30))
            + " }\nfragment S on __Schema { types { ...FullType } }\n"
            + FULL_TYPE,
            {},
        ),
        *((f"ofType chain {n}", of_type(n), {}) for n in (15, 16, 60)),
        *((f"comment {n:,} chars", comment(n), {}) for n in (63_000, 4_000_000)),
        *((f"block string {n:,} chars", block_string(n), {}) for n in (63_000, 4_000_000)),
    ]
    return legit + hostile


def best(step: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    shortest, result = float("inf"), None
    for _ in range(repeat):
        started = time.thread_time()
        try:
            result = step()
        except GraphQLError as error:
            result = error
        shortest = min(shortest, time.thread_time() - started)
    return shortest * 1000, result


def plan_all(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]) -> int:
    """Every selection plan of the document's operation, built eagerly; how many (0: left to graphql-core).

    Compiled sources are forgotten first: a document never seen before compiles its own.
    """
    compiled._CODE.clear()
    try:
        return _plan_all(schema, document, variables)
    except Unplannable:
        return 0


def _plan_all(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]) -> int:
    names = [
        d.name.value for d in document.definitions if getattr(d, "name", None) and d.kind == "operation_definition"
    ]
    built = Executor.build(schema, document, None, None, variables, names[0] if names else None)
    assert not isinstance(built, list), built
    plan = DocumentPlan(document, built.operation)
    assert schema.query_type is not None
    root = plan.root(schema, built.fragments, built.variable_values, schema.query_type)
    seen: set[int] = set()
    pending: list[SelectionPlan] = [root]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for field in current.fields:
            completion = field.completion
            while completion.kind == LIST and completion.item is not None:
                completion = completion.item
            types = [completion.type] if completion.kind == OBJECT else []
            if completion.kind == ABSTRACT:
                types = list(schema.get_possible_types(completion.type))
            for object_type in types:
                sub = object_plan(
                    schema,
                    built.fragments,
                    built.variable_values,
                    built.operation,
                    field,
                    completion,
                    object_type,
                    plan.allowance,
                )
                pending.append(sub)
    return len(seen)


def measure(schema: GraphQLSchema, name: str, text: str, variables: dict[str, Any], repeat: int) -> str:
    times: list[str] = []
    verdict = "passes"
    rules = tuple(specified_rules)
    steps: list[tuple[str, Callable[[Any], Any]]] = [
        ("parse", lambda _: parse(text, max_tokens=LIMITS.max_tokens)),
        ("shape", lambda d: check_shape(d, SHAPE) or d),
        ("validate", lambda d: validate_document(schema, d, rules) or d),
        ("cost", lambda d: estimate_cost(schema, d, None, variables, LIMITS.max_cost)),
        ("plan", lambda d: plan_all(schema, d, variables)),
    ]
    document: Any = None

    def timed(run: Callable[[Any], Any]) -> tuple[float, Any]:
        return best(lambda: run(document), repeat)

    if len(text) > LIMITS.max_chars:
        verdict = f"refused: characters ({len(text):,})"
        steps = []
    total = 0.0
    for step, run in steps:
        ms, result = timed(run)
        total += ms
        times.append(f"{step} {ms:6.1f}")
        if isinstance(result, GraphQLError):
            verdict = f"refused: {(result.extensions or {}).get('limit', 'syntax')}"
            break
        if isinstance(result, list) and result:
            aborted = any(e.message == ABORTED for e in result)
            verdict = "refused: validation (work)" if aborted else f"invalid: {result[0].message[:50]}"
            break
        if step == "cost":
            if result > LIMITS.max_cost:
                verdict = f"refused: cost {result:,}"
                break
            verdict = f"passes, cost {result:,}"
            continue
        if step == "plan":
            verdict += f", {result} plans"
            continue
        document = result
    return f"{name:42} {len(text):>10,} ch  {' '.join(times):62} = {total:6.1f} ms  {verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default=None, help="only the documents whose name contains this")
    args = parser.parse_args()
    schema = build_schema(LIMITS)._schema
    tune_gc()  # as in a serving worker
    print(f"limits: {LIMITS}\n{SHAPE}\nprocessor ms, best of {args.repeat}")
    for name, text, variables in corpus():
        if args.only is None or args.only in name:
            print(measure(schema, name, text, variables, args.repeat), flush=True)


if __name__ == "__main__":
    main()
