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
    capital = tco.capital_per_gpu(src.SEMIANALYSIS_DGX_H100_USD.value, 8, src.HOST_USD_PER_GPU["hgx"].value)
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


ROW = {"run_id": "r", "model": "m", "status": "ok", "hardware": "H100-SXM", "total_tok_s": 14_010.0,
       "elapsed_s": 10.0, "input_tokens": 100_000, "output_tokens": 40_100, "num_prompts": 100}
# An HGX host draws (10,200 - 8 x 700) / 8 = 575 W per GPU (DGX H100 datasheet); + 12.5 W network.
HGX_POWER = (700 + 575 + 12.5) / 1000 * 1.3 * 0.63  # 1.2875 kW x PUE 1.3 x 0.63 CNY = 1.054463
HGX_COLO = 150 * 7.2 * 1.2875 / 730  # 1,080 CNY per kW-month x 1.2875 kW / 730 h = 1.904795


def test_tco_basis_of_a_bare_card_h100():
    """H100-SXM card USD 27,500 x 7.2 = 198,000; + HGX host 4,001.25 x 7.2 = 28,809 -> 226,809; + 10% networking
    = 249,489.9; / (3 x 8760) = 9.493527. Power 1.2875 kW x 1.3 x 0.63 = 1.054463 (1.674 kW all-in, SemiAnalysis
    1.73). Colocation 1,080 x 1.2875 / 730 = 1.904795. Total 12.452785 CNY per GPU-hour."""
    mine = self_cost(ROW, CostOptions(basis="tco"))
    assert mine.basis == "tco" and mine.price_basis == "card"
    assert mine.gpu_cny_per_hour == pytest.approx(9.493527 + HGX_POWER + HGX_COLO, rel=1e-6)  # 12.452785
    # a server quote is not given a host share: H800 2,300,000 / 8 = 287,500 x 1.1 = 316,250 / 26,280 = 12.033866
    h800 = self_cost({**ROW, "hardware": "H800-SXM"}, CostOptions(basis="tco"))
    assert h800.price_basis == "8-card server"
    assert h800.gpu_cny_per_hour == pytest.approx(12.033866 + HGX_POWER + HGX_COLO, rel=1e-6)  # 14.993124


def test_one_host_per_card_class():
    """An RTX-4090 sits in a workstation, not a DGX: host (4,314 - 4 x 750) / 4 = 328.5 USD x 7.2 = 2,365.2 CNY;
    card 1,600 x 7.2 = 11,520; (11,520 + 2,365.2) x 1.1 = 15,273.72 / 26,280 = 0.581192. Power (450 + 231.25 +
    12.5) W = 0.69375 kW x 1.3 x 0.63 = 0.568181; colocation 1,080 x 0.69375 / 730 = 1.026370. Total 2.175743.
    The old DGX host share (28,809 CNY) was 2.5x the card."""
    r4090 = self_cost({**ROW, "hardware": "RTX-4090"}, CostOptions(basis="tco"))
    assert src.HOST_USD_PER_GPU["workstation"].value == pytest.approx(328.5)
    assert r4090.gpu_cny_per_hour == pytest.approx(0.581192 + 0.568181 + 1.026370, rel=1e-5)
    # an L40S in a PCIe server: host (32,010 - 10,908) / 8 = 2,637.75 USD; host power (4,650 - 2,800) / 8 = 231.25 W
    assert src.HOST_USD_PER_GPU["pcie-server"].value == pytest.approx(2_637.75)
    l40s = self_cost({**ROW, "hardware": "L40S"}, CostOptions(basis="tco"))
    capital = (7_500 + 2_637.75) * 7.2 * 1.1 / 26_280  # 3.055 ...
    kw = (350 + 231.25 + 12.5) / 1000
    assert l40s.gpu_cny_per_hour == pytest.approx(capital + kw * 1.3 * 0.63 + 1_080 * kw / 730, rel=1e-6)


def test_a100_and_a800_land_within_20_percent_on_the_same_basis_and_date():
    """The same silicon, priced from one China article (2024-02-18): an 8-card A100 server ~2.67M CNY (300 servers,
    'nearly 800 million'), an 8-card A800 server 2.3M (before a one-week spike to 3.3M). tco, cn market:
    A100 2,666,667 / 8 x 1.1 / 26,280 = 13.952 + power (400 + 575 + 12.5) W = 0.9875 kW x 1.3 x 0.63 = 0.808763
    + colocation 1,080 x 0.9875 / 730 = 1.460959 -> 16.222; A800 287,500 x 1.1 / 26,280 = 12.033866 + the same
    2.269722 = 14.303588. A800 / A100 = 0.882 (it was 2.3x: a spike quote beside an undated US card)."""
    a100 = self_cost({**ROW, "hardware": "A100-80G-SXM"}, CostOptions(basis="tco", market="cn"))
    a800 = self_cost({**ROW, "hardware": "A800-80G-SXM"}, CostOptions(basis="tco", market="cn"))
    energy_colo = 0.9875 * 1.3 * 0.63 + 1_080 * 0.9875 / 730
    assert a100.gpu_cny_per_hour == pytest.approx(2_666_667 / 8 * 1.1 / 26_280 + energy_colo, rel=1e-6)
    assert a800.gpu_cny_per_hour == pytest.approx(287_500 * 1.1 / 26_280 + energy_colo, rel=1e-6)
    assert a100.price_date == a800.price_date == "2024-02"
    assert abs(a800.gpu_cny_per_hour / a100.gpu_cny_per_hour - 1) < 0.20  # 0.882
    for basis in ("owned", "rental"):  # and on the other bases, same market
        pair = [self_cost({**ROW, "hardware": h}, CostOptions(basis=basis, market="cn")).gpu_cny_per_hour
                for h in ("A100-80G-SXM", "A800-80G-SXM")]
        assert abs(pair[1] / pair[0] - 1) < 0.20  # owned 0.866; rental AutoDL 5.88 / 7.03 = 0.836


def test_the_tco_provenance_names_life_host_networking_colocation_and_pue():
    mine = self_cost(ROW, CostOptions(basis="tco", amortization_years=4))
    for words in ("4-year life", "hgx host USD 4,001/GPU (2023-05), 575 W/GPU", "networking +10% of capital",
                  "colocation USD 150/kW-month", "PUE 1.3"):
        assert words in mine.provenance, words
    assert mine.basis_text == "tco, 4-year life (China market)"
