"""The `kpi:` part of the campaign and creative list filters: bounds on KPIs over the list's `metricsRange`."""

from __future__ import annotations

import strawberry

from gateway.data.brain import kpis
from resolvers.common.filters import (
    DecimalComparison,
    FloatComparison,
    IntComparison,
    comparison,
    float_comparison,
)

OVER = " over `metricsRange` (the last 30 days when it is left out)"


@strawberry.input(
    description="Bounds on KPIs" + OVER + "; every bound given must hold. A ratio whose denominator is zero "
    "(ROAS without spend, CTR without impressions, CPA without conversions) is null and satisfies no bound; "
    "sums of a row without metrics in the range are zero. Amounts are in the row's own currency."
)
class KpiFilter:
    roas: FloatComparison | None = strawberry.field(
        default=None, description="Return on ad spend (revenue / spend, to 4 places)" + OVER + "."
    )
    spend: DecimalComparison | None = strawberry.field(
        default=None, description="Spend in the campaign's currency" + OVER + "."
    )
    ctr: FloatComparison | None = strawberry.field(
        default=None, description="Click-through rate (clicks / impressions, to 6 places)" + OVER + "."
    )
    cpa: DecimalComparison | None = strawberry.field(
        default=None, description="Cost per acquisition (spend / conversions, to cents)" + OVER + "."
    )
    conversions: IntComparison | None = strawberry.field(default=None, description="Conversions" + OVER + ".")


def kpi_filter(flt: KpiFilter | None) -> kpis.KpiFilter | None:
    if flt is None:
        return None
    return kpis.KpiFilter(
        roas=float_comparison(flt.roas),
        spend=comparison(flt.spend),
        ctr=float_comparison(flt.ctr),
        cpa=comparison(flt.cpa),
        conversions=comparison(flt.conversions),
    )
