"""The all-in TCO per GPU-hour (bench.cost.tco), its like-for-like price basis, and the
check against SemiAnalysis' H100 figure. Every expected value is worked by hand in the comments."""

from __future__ import annotations

import pytest

from bench.cost import tco, tco_sources as src
from bench.cost.pricing import CostOptions, self_cost


def test_capital_per_gpu_on_a_like_for_like_basis():
    # a bare card gets the host share: 198,000 + 28,809 = 226,809
    assert tco.capital_per_gpu(198_000, 1, 28_809) == pytest.approx(226_809)
    # an 8-card server quote already holds its host: 2,300,000 / 8 = 287,500 (no host share added)
    assert tco.capital_per_gpu(2_300_000, 8, 28_809) == pytest.approx(287_500)
    assert tco.capital_per_gpu(2_300_000, 8, 28_809, network_per_gpu=1_000) == pytest.approx(288_500)


def test_capital_recovery_factor():
    assert tco.capital_recovery_factor(0.0, 4) == 0.25  # straight line
    # r = 10%, n = 3: 0.1 / (1 - 1.1^-3) = 0.1 / (1 - 0.751315) = 0.402115
    assert tco.capital_recovery_factor(0.10, 3) == pytest.approx(0.402115, rel=1e-5)
    # 33,750 over 4 years at 0%: 33,750 x 0.25 / 8760 = 0.963185 per hour
    assert tco.capital_per_gpu_hour(33_750, 4) == pytest.approx(0.963185, rel=1e-6)


def test_power_energy_and_colocation():
    # 700 W card + 62.5 W host + 12.5 W network = 0.775 kW IT; x PUE 1.3 = 1.0075 kW; x 0.63 CNY = 0.634725
    it_kw = tco.it_kw_per_gpu(700, 62.5, 12.5)
    assert it_kw == pytest.approx(0.775)
    assert tco.energy_per_gpu_hour(it_kw * 1.3, 0.63) == pytest.approx(0.634725)
    # 1,080 CNY per kW-month x 0.775 kW / 730 h = 1.146575
    assert tco.colocation_per_gpu_hour(1_080, it_kw) == pytest.approx(1.146575, rel=1e-6)


def semianalysis_h100() -> tco.Tco:
    """SemiAnalysis' inputs: DGX H100 270,000 USD / 8 GPUs (networking included), 4-year life, 1.73 kW all-in
    per GPU (so PUE 1 here), electricity 0.088 USD/kWh (the harness' rate; theirs is not held)."""
    capital = tco.capital_per_gpu(src.SEMIANALYSIS_DGX_H100_USD.value, 8, src.HOST_SHARE_USD_PER_GPU.value)
    return tco.tco_per_gpu_hour(capital, src.SEMIANALYSIS_LIFE_YEARS.value,
                                src.SEMIANALYSIS_ALL_IN_KW_PER_GPU.value, 1.0,
                                src.CHECK_ELECTRICITY_USD_PER_KWH.value)


def test_semianalysis_h100_lands_within_15_percent_of_their_figure():
    t = semianalysis_h100()
    # capital 33,750 x 0.25 / 8760 = 0.963185; energy 1.73 x 0.088 = 0.152240; total 1.115425 USD per GPU-hour
    assert t.capital_per_gpu_hour == pytest.approx(0.963185, rel=1e-6)
    assert t.energy_per_gpu_hour == pytest.approx(0.15224)
    assert t.total_per_gpu_hour == pytest.approx(1.115425, rel=1e-6)
    target = src.SEMIANALYSIS_H100_TCO_USD_PER_GPU_HOUR.value
    assert abs(t.total_per_gpu_hour / target - 1) < 0.15  # -14.2%


def test_tco_basis_of_a_bare_card_h100():
    """H100-SXM card USD 27,500 x 7.2 = 198,000; + host 4,001.25 x 7.2 = 28,809 -> 226,809; + 10% networking
    = 249,489.9; / (3 x 8760) = 9.493527. Power 0.775 kW x 1.3 x 0.63 = 0.634725. Colocation USD 150 x 7.2
    x 0.775 / 730 = 1.146575. Total 11.274827 CNY per GPU-hour (the old owned basis: 8.11)."""
    row = {"run_id": "r", "model": "m", "status": "ok", "hardware": "H100-SXM", "total_tok_s": 14_010.0,
           "elapsed_s": 10.0, "input_tokens": 100_000, "output_tokens": 40_100, "num_prompts": 100}
    mine = self_cost(row, CostOptions(basis="tco"))
    assert mine.basis == "tco" and mine.price_basis == "card"
    assert mine.gpu_cny_per_hour == pytest.approx(11.274827, rel=1e-6)
    # a server quote is not given a host share: H800 2,300,000 / 8 = 287,500 x 1.1 = 316,250 / 26,280 = 12.033866
    h800 = self_cost({**row, "hardware": "H800-SXM"}, CostOptions(basis="tco"))
    assert h800.price_basis == "8-card server"
    assert h800.gpu_cny_per_hour == pytest.approx(12.033866 + 0.634725 + 1.146575, rel=1e-6)  # 13.815166
