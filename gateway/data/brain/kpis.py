"""KPI filters of the campaign and creative lists: bounds on a row's totals over the list's metrics range.

A row's totals are the `p.<measure>` columns of the join `metrics.order_join`
adds (NULL throughout for a row without metrics in the range). A filter reads
them as `performance` reports them, exactly (numeric, rounded as there):

- `spend` and `conversions` are sums: a row without metrics in the range has 0;
- `roas` (revenue / spend), `ctr` (clicks / impressions) and `cpa` (spend /
  conversions) are ratios: a zero denominator, or no metrics at all, makes
  the ratio NULL, and NULL satisfies no bound (`roas < 1` does not select a
  row that spent nothing).

Amounts are compared in each row's own currency (a creative's is its
campaign's): a threshold is a plain amount, never converted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from gateway.data.brain.sql import Where
from gateway.data.filters import Comparison

# The SQL of each KPI as a filter reads it, from the totals `p` of the metrics join.
KPI_EXPRESSIONS = {
    "spend": "coalesce(p.spend, 0)",
    "conversions": "coalesce(p.conversions, 0)",
    "roas": "round(p.revenue / nullif(p.spend, 0), 4)",
    "ctr": "round(p.clicks::numeric / nullif(p.impressions, 0), 6)",
    "cpa": "round(p.spend / nullif(p.conversions, 0), 2)",
}


@dataclass(frozen=True)
class KpiFilter:
    """Bounds on KPIs over the list's metrics range; every bound given must hold."""

    roas: Comparison | None = None
    spend: Comparison | None = None
    ctr: Comparison | None = None
    cpa: Comparison | None = None
    conversions: Comparison | None = None

    def given(self) -> list[tuple[str, Comparison]]:
        """(KPI, comparison) of the KPIs with at least one bound."""
        found = ((f.name, getattr(self, f.name)) for f in fields(self))
        return [(name, c) for name, c in found if c is not None and c.bounds()]


def needs_metrics(kpis: KpiFilter | None) -> bool:
    return kpis is not None and bool(kpis.given())


def add_conditions(where: Where, kpis: KpiFilter | None) -> None:
    """The conditions of `kpis` on the metrics join's totals, added to `where` (its parameters numbered on)."""
    for name, bounds in kpis.given() if kpis else []:
        where.compare(KPI_EXPRESSIONS[name], bounds)
