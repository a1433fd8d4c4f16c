"""The prices bench uses, checked: every card's GPU-hour on each basis and market, the same-silicon ratios, the
H100 TCO against SemiAnalysis, a plan's verdict on each tier and basis, and the vendor book's freshness.

    python scripts/validate_prices.py [--as-of 2026-12-01] [--format table|markdown]

Prints, each figure with its source and date:
1. per card: rental (per tier and market), owned and tco in CNY per GPU-hour;
2. A100 / A800 and H100 / H800 on every basis (same market, same day); A100 / A800 must land within 20% on tco;
3. the H100 TCO fed SemiAnalysis' inputs against their figure (within 15%);
4. `bench plan --model qwen2.5-7b-instruct --hardware H100-SXM,H20,RTX-4090 --traffic 500M/day --slo-ttft-ms 2000
   --slo-tpot-ms 50`: the verdict on each market, tier and basis;
5. the vendor price book: its newest checked_on and the rows in force per vendor.
Exit 1 when a check fails. docs/cost.md holds its output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.config.hardware import load_hardware  # noqa: E402
from bench.core.errors import BenchError  # noqa: E402
from bench.cost import tco, tco_sources as src  # noqa: E402
from bench.cost.market import MARKETS  # noqa: E402
from bench.cost.gpu_hour import cny_per_hour_for  # noqa: E402
from bench.cost.pricing import BASES, CostOptions, power_of  # noqa: E402
from validate_cost import show  # noqa: E402  (one table printer for the validation scripts)

PLAN_ARGS = dict(model="qwen2.5-7b-instruct", hardware=("H100-SXM", "H20", "RTX-4090"), traffic="500M/day",
                 slo_ttft_ms=2000.0, slo_tpot_ms=50.0)
PAIRS = (("A100-80G-SXM", "A800-80G-SXM", 0.20), ("H100-SXM", "H800-SXM", None))  # (a, b, tco tolerance)


def hour(name: str, opts: CostOptions):
    """(CNY per GPU-hour, label) of one card on the options' basis, market and day; (None, why) when none."""
    hw = load_hardware().hardware[name]
    power_w, _ = power_of({}, hw, 1)
    try:
        h = cny_per_hour_for(name, hw, 1, power_w, replace(opts, basis_fallback=False))
    except BenchError as e:
        return None, str(e).split(";")[0]
    return h.cny_per_hour, h.label


def cards_section(as_of: dt.date) -> tuple[list[str], list[list[str]]]:
    rows = []
    for name, hw in load_hardware().hardware.items():
        if hw.kind != "gpu":
            continue
        tiers = sorted({q.tier or "on-demand" for q in hw.rental_quotes}, key=lambda t: (t != "on-demand", t))
        cases = [("rental", m, t) for m in MARKETS for t in tiers] + [(b, m, None) for b in ("owned", "tco")
                                                                      for m in MARKETS]
        for basis, market, tier in cases:
            cny, label = hour(name, CostOptions(basis=basis, market=market, rental_tier=tier, as_of=as_of))
            what = f"{basis}{' ' + tier if tier else ''}"
            rows.append([name, market, what, "-" if cny is None else f"{cny:.2f}", label])
    return ["card", "market", "basis", "CNY/GPU-h", "quote (market and kind, source, date; tco: its terms)"], rows


def pairs_section(as_of: dt.date) -> tuple[tuple[list[str], list[list[str]]], bool]:
    rows, ok = [], True
    for a, b, tolerance in PAIRS:
        for market in MARKETS:
            for basis in BASES:
                opts = CostOptions(basis=basis, market=market, as_of=as_of)
                (x, _), (y, _) = hour(a, opts), hour(b, opts)
                ratio = y / x if x and y else None
                verdict = ""
                if tolerance is not None and basis == "tco" and market == "cn":
                    passed = ratio is not None and abs(ratio - 1) < tolerance
                    ok &= passed
                    verdict = f"{'PASS' if passed else 'FAIL'} (within {tolerance:.0%})"
                rows.append([f"{b} / {a}", market, basis, "-" if x is None else f"{x:.2f}",
                             "-" if y is None else f"{y:.2f}", "-" if ratio is None else f"{ratio:.3f}", verdict])
    return (["pair", "market", "basis", "first CNY/GPU-h", "second CNY/GPU-h", "second / first", "check"], rows), ok


def semianalysis_section() -> tuple[tuple[list[str], list[list[str]]], bool]:
    """bench.cost.tco fed SemiAnalysis' own H100 inputs against their 1.30 USD per GPU-hour (scripts/validate_cost.py
    holds the same check with its sensitivities)."""
    capital = tco.capital_per_gpu(src.SEMIANALYSIS_DGX_H100_USD.value, 8, 0.0)
    t = tco.tco_per_gpu_hour(capital, src.SEMIANALYSIS_LIFE_YEARS.value, src.SEMIANALYSIS_ALL_IN_KW_PER_GPU.value, 1.0,
                             src.CHECK_ELECTRICITY_USD_PER_KWH.value)
    target = src.SEMIANALYSIS_H100_TCO_USD_PER_GPU_HOUR.value
    gap = t.total_per_gpu_hour / target - 1
    ok = abs(gap) < 0.15
    rows = [[s.source[:90], f"{s.value:,.3f} {s.unit}", s.date] for s in
            (src.SEMIANALYSIS_DGX_H100_USD, src.SEMIANALYSIS_LIFE_YEARS, src.SEMIANALYSIS_ALL_IN_KW_PER_GPU,
             src.CHECK_ELECTRICITY_USD_PER_KWH)]
    rows.append([f"TCO {t.total_per_gpu_hour:.4f} USD/GPU-h vs SemiAnalysis {target}", f"{gap:+.1%}",
                 "PASS (within 15%)" if ok else "FAIL"])
    return (["input", "value", "date"], rows), ok


def plan_section(as_of: dt.date) -> tuple[list[str], list[list[str]]]:
    from bench.analysis.frontier import Slo
    from bench.analysis.plan import Traffic, parse_traffic
    from bench.analysis.plan_build import PlanRequest, build_plan
    from bench.display.plan import verdict

    shape = Traffic(1.0, (3.0, 1.0), 2.0, 256)
    traffic = Traffic(parse_traffic(PLAN_ARGS["traffic"], shape.tokens_per_request), (3.0, 1.0), 2.0, 256)
    cases = [("rental", m, t) for m in MARKETS for t in (None, "reserved")] + \
            [(b, m, None) for b in ("owned", "tco") for m in MARKETS]
    rows = []
    for basis, market, tier in cases:
        req = PlanRequest(model=PLAN_ARGS["model"], hardware=PLAN_ARGS["hardware"], traffic=traffic,
                          slo=Slo(PLAN_ARGS["slo_ttft_ms"], PLAN_ARGS["slo_tpot_ms"]), basis=basis, as_of=as_of,
                          cost_options=CostOptions(basis=basis, market=market, rental_tier=tier, as_of=as_of))
        try:
            p = build_plan(req)
        except BenchError as e:
            rows.append([market, basis + (f" {tier}" if tier else ""), f"refused: {e}"])
            continue
        cells = "; ".join(f"{hp.hardware} {hp.gpu_hour().cny:.2f}" if hp.gpu_hour().cny is not None
                          else f"{hp.hardware} -" for hp in p.hardware)
        rows.append([market, basis + (f" {tier}" if tier else ""), f"{verdict(p)} (CNY/GPU-h: {cells})"])
    return ["market", "basis", "verdict"], rows


def vendor_section(as_of: dt.date) -> tuple[list[str], list[list[str]]]:
    """The price book's newest check date and the rows in force per vendor (bench.config.prices.vendor_book_summary)."""
    from bench.config.prices import vendor_book_summary

    return vendor_book_summary(as_of)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 12, 1))
    ap.add_argument("--format", choices=["table", "markdown"], default="table")
    args = ap.parse_args(argv)
    print(f"# Prices on {args.as_of} (FX 7.2 CNY/USD)")
    show("1. Every card's GPU-hour, per basis and market", *cards_section(args.as_of), args.format)
    pairs, ok_pairs = pairs_section(args.as_of)
    show("2. The same silicon: A800 / A100, H800 / H100", *pairs, args.format)
    check, ok_sa = semianalysis_section()
    show("3. H100 TCO fed SemiAnalysis' inputs", *check, args.format)
    show(f"4. bench plan --model {PLAN_ARGS['model']} --hardware {','.join(PLAN_ARGS['hardware'])} --traffic "
         f"{PLAN_ARGS['traffic']} --slo-ttft-ms 2000 --slo-tpot-ms 50", *plan_section(args.as_of), args.format)
    show("5. The vendor price book", *vendor_section(args.as_of), args.format)
    return 0 if ok_pairs and ok_sa else 1


if __name__ == "__main__":
    sys.exit(main())
