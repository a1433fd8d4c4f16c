"""Cost checks against published figures (issue 12). This file holds the defect-4 section; the defect-1
section (another engineer) merges in beside it.

    python scripts/validate_cost.py
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.cost import tco, tco_sources as src  # noqa: E402
from bench.cost.pricing import CostOptions, self_cost  # noqa: E402

TOLERANCE = 0.15  # the all-in TCO must land within 15% of SemiAnalysis' H100 figure


def semianalysis_check() -> bool:
    """Issue 12, defect 4: bench.cost.tco fed SemiAnalysis' own H100 inputs vs their 1.30 USD per GPU-hour."""
    print("== SemiAnalysis H100 TCO check (bench.cost.tco) ==")
    for s in (src.SEMIANALYSIS_DGX_H100_USD, src.SEMIANALYSIS_LIFE_YEARS, src.SEMIANALYSIS_ALL_IN_KW_PER_GPU,
              src.CHECK_ELECTRICITY_USD_PER_KWH):
        print(f"  input  {s.value:>10,.3f} {s.unit}  [{s.source}, {s.date}]")
    capital = tco.capital_per_gpu(src.SEMIANALYSIS_DGX_H100_USD.value, 8, src.HOST_SHARE_USD_PER_GPU.value)
    life, kw = src.SEMIANALYSIS_LIFE_YEARS.value, src.SEMIANALYSIS_ALL_IN_KW_PER_GPU.value
    base = tco.tco_per_gpu_hour(capital, life, kw, 1.0, src.CHECK_ELECTRICITY_USD_PER_KWH.value)
    target = src.SEMIANALYSIS_H100_TCO_USD_PER_GPU_HOUR.value
    print(f"  capital {capital:,.0f} USD per GPU (server / 8) x 1/{life:g} / 8760 h = {base.capital_per_gpu_hour:.4f}")
    print(f"  energy  {kw} kW all-in x {src.CHECK_ELECTRICITY_USD_PER_KWH.value} USD/kWh = {base.energy_per_gpu_hour:.4f}")
    gap = base.total_per_gpu_hour / target - 1
    ok = abs(gap) < TOLERANCE
    print(f"  TCO {base.total_per_gpu_hour:.4f} USD per GPU-hour vs SemiAnalysis {target} "
          f"[{src.SEMIANALYSIS_H100_TCO_USD_PER_GPU_HOUR.source}]: {gap:+.1%} -> {'PASS' if ok else 'FAIL'} (+-15%)")
    # Sensitivities: what the check leaves out (their cost of capital and colocation are not held).
    for label, kwargs in (("+ colocation USD 150/kW-month on 1.73 kW", {"colocation_per_kw_month": 150.0}),
                          ("+ cost of capital 10%/year", {"cost_of_capital_per_year": 0.10})):
        t = tco.tco_per_gpu_hour(capital, life, kw, 1.0, src.CHECK_ELECTRICITY_USD_PER_KWH.value, **kwargs)
        print(f"  sensitivity {label}: {t.total_per_gpu_hour:.4f} ({t.total_per_gpu_hour / target - 1:+.1%})")
    # The harness' own --basis tco for H100-SXM (bare card + host share + networking, CNY at 7.2), in USD.
    row = {"run_id": "check", "model": "-", "status": "ok", "hardware": "H100-SXM", "total_tok_s": 1.0}
    for years in (3.0, 4.0):
        mine = self_cost(row, CostOptions(basis="tco", amortization_years=years))
        print(f"  bench --basis tco H100-SXM, --years {years:g}: {mine.gpu_cny_per_hour:.2f} CNY = "
              f"{mine.gpu_cny_per_hour / mine.fx_cny_per_usd:.3f} USD per GPU-hour ({mine.provenance})")
    return ok


def main() -> int:
    ok = semianalysis_check()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
