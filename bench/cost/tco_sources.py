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


# Host cost per GPU, one per host class (hardware.yaml `host`), each a cost to build or a parts list, so a floor
# on what a buyer pays. SemiAnalysis' DGX H100 bill of materials less the GPU baseboard: 5,200 (CPUs) + 7,860
# (memory) + 3,456 (storage) + 10,908 (NICs) + 563 + 875 + 463 + 1,200 + 1,485 (chassis, board, fans, power supplies,
# assembly) = 32,010 USD per 8-GPU server (summed by epoch-research/training-cost-trends h100_manufacturing_cost).
DGX_H100_HOST_USD = 32_010.0
DGX_H100_NIC_USD = 10_908.0
HOST_USD_PER_GPU = {
    "hgx": Sourced(DGX_H100_HOST_USD / 8, "USD per GPU",
                   "SemiAnalysis, 'AI Server Cost Analysis - Memory Is The Biggest Loser' (DGX H100 bill of materials "
                   "less the GPU baseboard, 32,010 USD / 8), via github.com/epoch-research/training-cost-trends",
                   "2023-05"),
    # An inference PCIe server (8 cards on PCIe switches) has the DGX's CPUs, memory, storage, chassis and power
    # but no GPU back-end network: the same bill less its NICs line.
    "pcie-server": Sourced((DGX_H100_HOST_USD - DGX_H100_NIC_USD) / 8, "USD per GPU",
                           "derived from SemiAnalysis' DGX H100 bill of materials less its NICs line "
                           "((32,010 - 10,908) / 8): assumed, no PCIe server bill found", "2023-05"),
    # A 4-GPU workstation on a server board: EPYC 7252, ASRock Rack ROMED8-2T, 32 GB ECC RDIMM, a 1,600 W PSU, dual
    # 10 GbE: 4,314 USD with four cards at 750 each, so (4,314 - 3,000) / 4 per GPU.
    "workstation": Sourced((4_314 - 4 * 750) / 4, "USD per GPU",
                           "thinksmart.life/research/posts/gpu-rig-budget-vs-pro (the pro-tier 4-GPU build, "
                           "4,314 USD less four cards at 750)", "undated"),
}
# Host power per GPU (CPUs, memory, NICs, fans, power-supply losses), by host class.
HOST_W_PER_GPU_BY_CLASS = {
    # NVIDIA DGX H100 datasheet: 10.2 kW maximum system power for 8 x 700 W GPUs: (10,200 - 5,600) / 8.
    "hgx": Sourced((10_200 - 8 * 700) / 8, "W per GPU", "NVIDIA DGX H100 datasheet (10.2 kW maximum system "
                   "power, 8 x 700 W GPUs)", "2023"),
    # 8 x 350 W PCIe cards (H100 PCIe or L40S) in a Supermicro SYS-521GE-TNRT draw 4.3-5 kW in all: midpoint
    # 4,650 W less 2,800 W of cards, / 8.
    "pcie-server": Sourced((4_650 - 8 * 350) / 8, "W per GPU", "servethehome.com/nvidia-l40s-is-the-nvidia-h100-ai-"
                           "alternative-with-a-big-benefit-supermicro (8-GPU PCIe servers use 4.3-5 kW)", "2023"),
    "workstation": Sourced((4_650 - 8 * 350) / 8, "W per GPU", "assumed as the PCIe server's host (no workstation "
                           "power measurement found)", "2023"),
}
# Networking (switches, optics, cables) as a share of the hardware capital.
NETWORK_SHARE_OF_CAPITAL = Sourced(0.10, "fraction of card + host capital",
                                   "v2-pseo-ai.pages.dev/tools/gpu-tco-analysis: transceivers, cabling, "
                                   "top-of-rack switches add 10-15% to hardware capex (low end taken)", "undated")
# Network power per GPU (switches): 100 W per 8-GPU node.
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
