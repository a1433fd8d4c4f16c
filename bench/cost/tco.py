"""All-in cost of owning one GPU for one hour (TCO), from named components: pure functions.

Money is in the currency of the inputs (the harness passes CNY, the SemiAnalysis check USD); power in W or
kW as named; "per_gpu_hour" is per GPU per hour of its life, busy or idle.

The method, component by component:

1. Capital per GPU on one price basis. A quote for an N-card server already holds the host (chassis, CPUs,
   memory, NICs, storage): capital per GPU = server price / N. A bare-card quote does not: capital per
   GPU = card price + host share per GPU. Networking (switches, optics, cables) per GPU is added to both
   unless the server quote says it includes it.
2. Capital per GPU-hour: capital x capital recovery factor(cost of capital r, life n years) / 8760 h, where
   CRF = r / (1 - (1 + r)^-n), and 1/n at r = 0 (straight line, no resale value).
3. Power all-in per GPU: (GPU W + host W per GPU + network W per GPU) x PUE / 1000 = kW at the meter.
4. Energy per GPU-hour: all-in kW x electricity price per kWh.
5. Colocation (data-centre capex or rent) per GPU-hour: price per kW of IT load per month x IT kW / 730 h.
6. TCO per GPU-hour = capital + energy + colocation.
"""

from __future__ import annotations

from dataclasses import dataclass

HOURS_PER_YEAR = 8760.0
HOURS_PER_MONTH = HOURS_PER_YEAR / 12  # 730


def capital_per_gpu(price: float, cards: int, host_share_per_gpu: float, network_per_gpu: float = 0.0) -> float:
    """Step 1: a server quote (cards > 1) holds its host, price / cards; a bare card gets the host share added."""
    if cards < 1:
        raise ValueError(f"cards must be at least 1, got {cards}")
    host = 0.0 if cards > 1 else host_share_per_gpu
    return price / cards + host + network_per_gpu


def capital_recovery_factor(cost_of_capital_per_year: float, life_years: float) -> float:
    """Step 2: the share of a capital sum paid each year to repay it with interest over its life."""
    if life_years <= 0:
        raise ValueError(f"life must be positive, got {life_years} years")
    r = cost_of_capital_per_year
    if r == 0:
        return 1.0 / life_years
    return r / (1.0 - (1.0 + r) ** -life_years)


def capital_per_gpu_hour(capital: float, life_years: float, cost_of_capital_per_year: float = 0.0) -> float:
    """Step 2: capital per GPU spread over every hour of its life, with the cost of capital."""
    return capital * capital_recovery_factor(cost_of_capital_per_year, life_years) / HOURS_PER_YEAR


def it_kw_per_gpu(gpu_w: float, host_w_per_gpu: float = 0.0, network_w_per_gpu: float = 0.0) -> float:
    """IT load per GPU, kW: the card, its share of the host and of the network."""
    return (gpu_w + host_w_per_gpu + network_w_per_gpu) / 1000.0


def energy_per_gpu_hour(all_in_kw: float, electricity_per_kwh: float) -> float:
    """Step 4: energy at the meter (IT kW x PUE) for one hour."""
    return all_in_kw * electricity_per_kwh


def colocation_per_gpu_hour(colocation_per_kw_month: float, it_kw: float) -> float:
    """Step 5: data-centre space, cooling and power delivery rented per kW of IT load per month."""
    return colocation_per_kw_month * it_kw / HOURS_PER_MONTH


@dataclass(frozen=True)
class Tco:
    """One GPU-hour of ownership, by component (currency of the inputs)."""

    capital_per_gpu: float
    all_in_kw: float
    capital_per_gpu_hour: float
    energy_per_gpu_hour: float
    colocation_per_gpu_hour: float

    @property
    def total_per_gpu_hour(self) -> float:
        return self.capital_per_gpu_hour + self.energy_per_gpu_hour + self.colocation_per_gpu_hour


def tco_per_gpu_hour(capital: float, life_years: float, it_kw: float, pue: float, electricity_per_kwh: float,
                     colocation_per_kw_month: float = 0.0, cost_of_capital_per_year: float = 0.0) -> Tco:
    """Steps 2-6 for one GPU whose capital (step 1) and IT load per GPU (kW) are known."""
    all_in_kw = it_kw * pue
    return Tco(
        capital_per_gpu=capital, all_in_kw=all_in_kw,
        capital_per_gpu_hour=capital_per_gpu_hour(capital, life_years, cost_of_capital_per_year),
        energy_per_gpu_hour=energy_per_gpu_hour(all_in_kw, electricity_per_kwh),
        colocation_per_gpu_hour=colocation_per_gpu_hour(colocation_per_kw_month, it_kw),
    )
