"""The sourced inputs of the all-in TCO (bench.cost.tco): each figure with its source and date.

USD figures are converted at the FX rate where the harness uses them. Where no public figure was found the
default is 0 and says so; pass your own on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sourced:
    value: float
    unit: str
    source: str
    date: str


# Host share of an 8-GPU H100 server (everything but the GPUs: CPUs, memory, NICs, storage, chassis, board,
# power supplies): SemiAnalysis' DGX H100 bill of materials, 5,200 + 7,860 + 3,456 + 10,908 + 563 + 875 + 463
# + 1,200 + 1,485 = 32,010 USD per server, / 8 GPUs. A cost to build, so a floor on what a buyer pays.
HOST_SHARE_USD_PER_GPU = Sourced(32_010 / 8, "USD per GPU",
                                 "SemiAnalysis, 'AI Server Cost Analysis - Memory Is The Biggest Loser' (DGX H100 "
                                 "BOM), as summed by github.com/epoch-research/training-cost-trends", "2023-05")
# Networking (switches, optics, cables) as a share of the hardware capital.
NETWORK_SHARE_OF_CAPITAL = Sourced(0.10, "fraction of card + host capital",
                                   "v2-pseo-ai.pages.dev/tools/gpu-tco-analysis: transceivers, cabling, "
                                   "top-of-rack switches add 10-15% to hardware capex (low end taken)", "undated")
# Host and network power per GPU: an 8 x H100 DGX node draws 8 x 700 W + 500 W host + 100 W networking.
HOST_W_PER_GPU = Sourced(500 / 8, "W per GPU", "lynx-cortex.pages.dev, datacenter economics (DGX host 500 W / 8)",
                         "undated")
NETWORK_W_PER_GPU = Sourced(100 / 8, "W per GPU", "lynx-cortex.pages.dev, datacenter economics (100 W / 8)",
                            "undated")
# Colocation (data-centre space, cooling, power delivery) per kW of IT load per month: USD 150-250.
COLOCATION_USD_PER_KW_MONTH = Sourced(150.0, "USD per kW-month",
                                      "v2-pseo-ai.pages.dev/tools/gpu-tco-analysis (150-250, low end taken; a US "
                                      "figure, no China figure found)", "undated")
# Cost of capital: no public figure for a China buyer was found; 0 is straight-line depreciation.
COST_OF_CAPITAL_PER_YEAR = Sourced(0.0, "per year", "none found; pass --cost-of-capital", "")

# SemiAnalysis' own H100 inputs and result (the check in scripts/validate_cost.py and tests/cost/test_tco.py).
SEMIANALYSIS_DGX_H100_USD = Sourced(270_000.0, "USD per 8-GPU server, networking hardware included",
                                    "SemiAnalysis, 'AI Server Cost Analysis - Memory Is The Biggest Loser', via "
                                    "github.com/epoch-research/training-cost-trends", "2023-05")
SEMIANALYSIS_LIFE_YEARS = Sourced(4.0, "years", "SemiAnalysis owning tiers (4-year life; only their rental tier "
                                  "is 3 years)", "2025")
SEMIANALYSIS_ALL_IN_KW_PER_GPU = Sourced(1.73, "kW per H100, all-in", "SemiAnalysisAI/InferenceX-app "
                                         "packages/app/src/lib/constants.ts (power)", "2025")
SEMIANALYSIS_H100_TCO_USD_PER_GPU_HOUR = Sourced(1.30, "USD per GPU-hour", "SemiAnalysisAI/InferenceX-app "
                                                 "packages/app/src/lib/constants.ts (costh)", "2025")
# Electricity for the check: SemiAnalysis' own rate is not held; the harness' rate, USD 0.088/kWh.
CHECK_ELECTRICITY_USD_PER_KWH = Sourced(0.088, "USD per kWh", "china-briefing.com, China's industrial power rates "
                                        "(not SemiAnalysis' input)", "2024")
