"""A measured results row + hardware.yaml + prices.yaml -> what its tokens cost, beside each vendor.

Joins the pure formulas of bench.cost.formulas to the data: picks the hardware and its price, the GPUs
the run used, its power, and the prefill/decode split from the row's own measurements. A row holds values,
None where empty: one a writer is building, or one read back (bench.results.typed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace

from bench.cost import formulas as cost
from bench.cost.gpu_hour import cny_per_hour_for
from bench.cost.hwchoice import fx_date_for, hardware_name_for, measured_hardware, price_basis_of
from bench.cost import market as markets
from bench.cost import tco_sources
from bench.core.errors import BenchError
from bench.results import schema
from bench.config.hardware import Hardware, HardwareBook, load_hardware
from bench.config.pricing import BASES, SHARED_MODELS  # noqa: F401  (BASES: the bases --basis declares)
from bench.config.prices import VendorPrice
from bench.cost.vendor_use import LIST, VendorUse, effective_price


# Columns a results CSV must have for `bench cost` (all of them core columns of bench run).
REQUIRED_COLUMNS = ("run_id", "model", "status", "elapsed_s", "input_tokens", "output_tokens", "total_tok_s",
                    "tpot_p50_ms", "max_num_seqs", "num_prompts")
# Optional measured energy of the timed run, all its GPUs together (J): the owned basis charges exactly these
# kWh for the row's tokens (as power energy_j / elapsed_s). Else the measured average power (W); else TDP x GPUs.
ENERGY_COLUMN = "energy_j"
POWER_COLUMN = "avg_power_w"

# What `--hardware NAME` adds to a row: the columns bench/results/schema.py declares with source "cost".
RUN_COST_COLUMNS = schema.names_of(schema.RUN, "cost")

# `bench cost --out`: one line per measured row x vendor price in force.
OUT_COLUMNS = (
    "run_id", "model", "hardware", "basis", "gpu_cny_per_hour", "utilization", "mix", "cny_per_m_input",
    "cny_per_m_output", "cny_per_m_blended", "cny_per_m_total", "tokens_per_cny", "vendor", "vendor_model",
    "vendor_cny_per_m_blended", "self_over_vendor", "breakeven_utilization",
    # beyond the list
    "gpu_count", "cny_per_hour", "power_w", "power_source", "prefill_s", "decode_s", "fx_cny_per_usd", "as_of",
    "vendor_cny_per_m_input", "vendor_cny_per_m_output", "vendor_tokens_per_cny", "breakeven_tokens_per_day",
    "vendor_source", "vendor_basis", "vendor_applies_from", "vendor_keys_needed", "tokens_per_cny_blended",
    # where the GPU price comes from
    "price_basis", "price_tier", "price_source", "price_date", "fx_date", "measured_on", "what_if",
    # prefix caching: the measured hit rate (the vendor's input is priced at it) and a miss's cost
    "cache_hit_rate", "cny_per_m_input_uncached",
)


@dataclass(frozen=True)
class CostOptions:
    hardware: str | None = None  # None: the row's own `hardware` column
    basis: str = "rental"
    gpu_cny_per_hour: float | None = None  # all-in price of one GPU-hour; replaces the basis
    mix: tuple[float, float] = cost.DEFAULT_MIX
    utilization: float = 1.0
    fx_cny_per_usd: float = cost.DEFAULT_FX_CNY_PER_USD
    amortization_years: float = cost.DEFAULT_AMORTIZATION_YEARS
    electricity_cny_per_kwh: float = cost.DEFAULT_ELECTRICITY_CNY_PER_KWH
    pue: float = cost.DEFAULT_PUE
    hosting_cny_per_month_per_card: float = cost.DEFAULT_HOSTING_CNY_PER_MONTH_PER_CARD
    # Which card and which of its quotes price the row (all default to the row's own card and quote):
    what_if_hardware: str | None = None  # price every row as this card: an explicit, labelled what-if
    gpu_cny_per_hour_by_hardware: tuple[tuple[str, float], ...] = ()  # per-card given prices (canonical names)
    rental_tier: str | None = None  # a tier of hardware.yaml's rental quotes (on-demand, spot, ...); None: `rental`
    # basis "tco": all-in cost of owning, bench.cost.tco; None: the sourced default of tco_sources
    cost_of_capital_per_year: float = tco_sources.COST_OF_CAPITAL_PER_YEAR.value
    colocation_cny_per_kw_month: float | None = None
    # The market whose quotes price a card (cn | global; bench.cost.market) and the day they apply (None: today)
    market: str = markets.DEFAULT_MARKET
    as_of: dt.date | None = None
    # A card with no price on the basis asked for is priced on the next basis that has one, labelled
    basis_fallback: bool = True

    @property
    def fx_date(self) -> str:
        """When the FX rate was observed: the default's dates, else "given on the command line"."""
        return fx_date_for(self.fx_cny_per_usd, self.as_of)


# CostOptions' fields named otherwise by the options of bench.config.pricing (the rest keep their names).
_OPTION_NAMES = {"years": "amortization_years", "hosting_cny_per_month": "hosting_cny_per_month_per_card",
                 "cost_of_capital": "cost_of_capital_per_year"}


def cost_options(*options, **fields) -> CostOptions:
    """CostOptions from the pricing options users give (models of bench.config.pricing, or a RunConfig, which
    holds RowPricing's), then `fields` (e.g. hardware)."""
    shared = {name for model in SHARED_MODELS for name in model.model_fields}
    kw: dict = {}
    for given in options:
        for name in type(given).model_fields.keys() & shared:
            value = getattr(given, name)
            if name == "gpu_cny_per_hour":
                if value is not None:
                    kw["gpu_cny_per_hour"], kw["gpu_cny_per_hour_by_hardware"] = value.every_card, value.by_card
            elif _OPTION_NAMES.get(name, name) in CostOptions.__dataclass_fields__:
                kw[_OPTION_NAMES.get(name, name)] = value
    return CostOptions(**{**kw, **fields})


@dataclass(frozen=True)
class SelfCost:
    """What the tokens of one measured row cost at the options' utilisation."""

    run_id: str
    model: str
    hardware: str
    kind: str  # gpu | cpu | "" (no hardware named)
    basis: str  # rental | owned | given (--gpu-cny-per-hour)
    gpu_count: int
    gpu_cny_per_hour: float
    cny_per_hour: float
    power_w: float | None
    power_source: str  # measured | tdp | ""
    utilization: float
    mix: tuple[float, float]
    prefill_s: float | None
    decode_s: float | None
    cny_per_m_input: float | None
    cny_per_m_output: float | None
    cny_per_m_blended: float | None
    cny_per_m_blended_full_use: float | None  # at 100% utilisation: the break-even reference
    cny_per_m_total: float
    tokens_per_cny: float  # any token at the run's own input:output mix: 1e6 / cny_per_m_total (schema 1 meaning)
    # THE tokens per CNY of every table, claim and comparison: 1e6 / cny_per_m_blended, at `mix` and `utilization`,
    # the same definition as a vendor's (1e6 / its list prices blended at `mix`). None when the time does not split.
    tokens_per_cny_blended: float | None = None
    # Where the GPU price comes from and whether the row is priced as another card.
    price_basis: str = ""  # card | server (the quote covers an 8-card server) | given
    price_source: str = ""
    price_date: str = ""
    price_tier: str = ""  # rental tier (on-demand, spot, ...); "" for owned or given
    fx_cny_per_usd: float = cost.DEFAULT_FX_CNY_PER_USD
    fx_date: str = cost.DEFAULT_FX_DATE
    measured_on: str = ""  # the hardware the row ran on ("" when the row names none)
    what_if: bool = False  # priced as another card than the one it ran on
    # prefix caching: the measured hit rate, and what an input token the cache missed costs
    cache_hit_rate: float | None = None
    cny_per_m_input_uncached: float | None = None
    # the market asked for, what the quote is ('cn list price'), what its choice gave up, the basis asked for
    # when another had to price the card, and what a tco figure assumes (life, host, networking, colocation, PUE)
    market: str = markets.DEFAULT_MARKET
    price_what: str = ""
    price_note: str = ""
    asked_basis: str = ""
    terms: str = ""

    @property
    def basis_text(self) -> str:
        """'rental on-demand (China market)', 'tco, 3-year life' or 'owned asked: none; rental on-demand used'."""
        if self.basis == "given":
            return "given"
        tier = f" {self.price_tier}" if self.price_tier else ""
        life = f", {self.terms.split(' at ')[0]}" if self.basis == "tco" and self.terms else ""
        text = f"{self.basis}{tier}{life} ({markets.MARKET_WORDS.get(self.market, self.market)})"
        return f"{self.asked_basis} has no price: {text}" if self.asked_basis else text

    @property
    def provenance(self) -> str:
        """'price basis, market and kind, source, date; FX rate and date': printed beside every cost."""
        fx = f"FX {self.fx_cny_per_usd:g} CNY/USD ({self.fx_date})"
        if self.basis == "given":
            return f"given per GPU-hour on the command line (--gpu-cny-per-hour); {fx}"
        tier = f" {self.price_tier}" if self.price_tier else ""
        note = f" ({self.price_note})" if self.price_note else ""
        asked = f"{self.asked_basis} asked, no price: " if self.asked_basis else ""
        terms = f"; {self.terms}" if self.terms else ""
        return (f"{asked}{self.basis}{tier}, {self.price_what}{note}, quoted per {self.price_basis}: "
                f"{self.price_source}, {self.price_date}{terms}; {fx}")

    @property
    def where(self) -> str:
        """'H100-SXM', 'what-if RTX-4090 (measured on H100-SXM)', or for a CPU server what is priced:
        'cpu-server (priced as a whole 96-core server)'."""
        if self.what_if:
            return f"what-if {self.hardware} (measured on {self.measured_on or 'unnamed hardware'})"
        if self.kind == "cpu" and self.cores:
            return f"{self.hardware} (priced as a whole {self.cores}-core server)"
        return self.hardware

    @property
    def cores(self) -> int | None:
        from bench.config.hardware import get_hardware

        return get_hardware(self.hardware).cores if self.kind == "cpu" and self.hardware else None


def gpu_count_of(row: dict, hw: Hardware | None) -> int:
    """GPUs the run used: tensor x pipeline parallel size; a row of another tool's file (bench.interop), the GPUs
    that served it (its gpu_count: the file's, or --gpus). A CPU server counts as one unit."""
    if hw is not None and hw.kind == "cpu":
        return 1
    if row.get("source_format"):
        gpus = row.get("gpu_count")
        if not gpus:
            raise BenchError(f"run {row.get('run_id') or '?'} (from {row.get('source_file')}): how many GPUs served it "
                             "is unknown; give --gpus N")
        return int(gpus)
    tp = row.get("tensor_parallel_size") or 1
    pp = row.get("pipeline_parallel_size") or 1
    return max(int(tp) * int(pp), 1)


def power_of(row: dict, hw: Hardware | None, gpu_count: int) -> tuple[float | None, str]:
    energy, elapsed = row.get(ENERGY_COLUMN), row.get("elapsed_s")
    if energy and energy > 0 and elapsed and elapsed > 0:
        return energy / elapsed, "measured"
    measured = row.get(POWER_COLUMN)
    if measured and measured > 0:
        return measured, "measured"
    if hw is not None:
        return hw.tdp_w * gpu_count, "tdp"
    return None, ""


def split_seconds(row: dict) -> tuple[float | None, float | None]:
    """(prefill s, decode s) of a row; (None, None) when unknowable. The row's own `prefill_s`/`decode_s` when its
    engine split every step (split_method; bench.cost.formulas.prefill_decode_seconds_by_steps), else
    bench.cost.formulas.prefill_decode_seconds (decode = steps x TPOT), which under-charges long prompts.
    Sequences decoding together: the batch cap (bench run), or the measured requests in flight (bench serve)."""
    stepped = row.get("prefill_s"), row.get("decode_s")
    if None not in stepped:
        return stepped
    elapsed = row.get("elapsed_s")
    out_tokens = row.get("output_tokens")
    requests = row.get("completed") or row.get("num_prompts")
    if not elapsed or out_tokens is None or not requests:
        return None, None
    tpot_ms = row.get("tpot_mean_ms") or row.get("tpot_p50_ms")
    if tpot_ms is None:
        if out_tokens > requests:  # tokens were decoded but their timing is unknown
            return None, None
        return elapsed, 0.0
    lengths = (row.get("input_len") or 0) + (row.get("output_len") or 0)
    concurrency = cost.decode_concurrency(int(row.get("max_num_seqs") or requests), int(requests),
                                          int(row.get("kv_capacity_tokens") or 0) or None, int(lengths) or None)
    in_flight = row.get("mean_concurrency")  # bench serve: requests in the server on average, measured
    if in_flight:
        concurrency = max(1, min(concurrency, round(in_flight)))
    return cost.prefill_decode_seconds(elapsed, int(out_tokens), int(requests), concurrency, tpot_ms / 1000.0)


def self_cost(row: dict, opts: CostOptions, book: HardwareBook | None = None) -> SelfCost:
    """The cost of one ok results row under `opts`. BenchError on what cannot be priced."""
    run_id = str(row.get("run_id") or "?")
    total_tok_s = row.get("total_tok_s")
    if not total_tok_s or total_tok_s <= 0:
        raise BenchError(f"run {run_id}: total_tok_s is empty or 0; nothing to price")
    book = book or load_hardware()
    hw_name = hardware_name_for(row, opts, book)
    hw = book.hardware[hw_name] if hw_name else None
    gpus = gpu_count_of(row, hw)
    measured_on = measured_hardware(row, book) or ""
    what_if = bool(opts.what_if_hardware) and hw_name != measured_on
    # a what-if card draws its own TDP: the row's measured power is another card's
    power_w, power_source = power_of({} if what_if else row, hw, gpus)
    hourly = cny_per_hour_for(hw_name, hw, gpus, power_w, opts)
    per_hour, basis = hourly.cny_per_hour, hourly.basis
    u = opts.utilization

    prefill_s, decode_s = split_seconds(row)
    in_full = out_full = blended_full = miss_full = None
    cached = row.get("cached_prompt_tokens")
    if prefill_s is not None:
        in_full = cost.cny_per_m_input(per_hour, prefill_s, int(row.get("input_tokens") or 0))
        if cached is not None:
            miss_full = cost.cny_per_m_input_uncached(per_hour, prefill_s, int(row.get("input_tokens") or 0),
                                                      int(cached))
        out_full = cost.cny_per_m_output(per_hour, decode_s, int(row.get("output_tokens") or 0))
        if in_full is not None and out_full is not None:
            blended_full = cost.cny_per_m_blended(in_full, out_full, opts.mix)
    total = cost.at_utilization(cost.cny_per_m_total(per_hour, total_tok_s), u)

    def at_u(x: float | None) -> float | None:
        return None if x is None else cost.at_utilization(x, u)

    return SelfCost(
        run_id=run_id, model=str(row.get("model") or ""), hardware=hw_name or "", kind=hw.kind if hw else "",
        basis=basis, gpu_count=gpus,
        gpu_cny_per_hour=per_hour / gpus, cny_per_hour=per_hour,
        power_w=power_w if basis in ("owned", "tco") else None,
        power_source=power_source if basis in ("owned", "tco") else "", utilization=u, mix=opts.mix,
        prefill_s=prefill_s, decode_s=decode_s, cny_per_m_input=at_u(in_full), cny_per_m_output=at_u(out_full),
        cny_per_m_blended=at_u(blended_full), cny_per_m_blended_full_use=blended_full, cny_per_m_total=total,
        tokens_per_cny=cost.tokens_per_cny(total), tokens_per_cny_blended=tokens_per_cny_blended(at_u(blended_full)),
        price_basis=price_basis_of(hourly.price), price_source=hourly.price.source if hourly.price else "",
        price_date=hourly.price.date if hourly.price else "command line",
        price_tier=(hourly.price.tier or "") if hourly.price and basis == "rental" else "",
        fx_cny_per_usd=opts.fx_cny_per_usd, fx_date=opts.fx_date, measured_on=measured_on,
        what_if=what_if, cache_hit_rate=row.get("prefix_cache_hit_rate"), cny_per_m_input_uncached=at_u(miss_full),
        market=opts.market, price_what=hourly.price.what if hourly.price else "",
        price_note=hourly.chosen.note if hourly.chosen else "", asked_basis=hourly.asked, terms=hourly.terms,
    )


def row_vendor_use(row: dict, use: VendorUse, hit_rate_given: bool) -> VendorUse:
    """The vendor terms for one row: a measured prefix-cache hit rate prices the vendor's input at its
    cache-hit price at that rate (unless --cache-hit-rate was given: then that rate, for every row)."""
    rate = row.get("prefix_cache_hit_rate")
    if hit_rate_given or rate is None:
        return use
    return replace(use, cache_hit_rate=min(max(rate, 0.0), 1.0))


def tokens_per_cny_blended(cny_per_m_blended: float | None) -> float | None:
    """Tokens one CNY buys at a price blended at the stated input:output mix (self-hosted or vendor alike);
    None when there is no blended price. The one definition `bench cost`, `bench report` and the claims print."""
    return None if cny_per_m_blended is None else cost.tokens_per_cny(cny_per_m_blended)


@dataclass(frozen=True)
class VendorComparison:
    vendor: str
    vendor_model: str
    vendor_cny_per_m_input: float
    vendor_cny_per_m_output: float
    vendor_cny_per_m_blended: float
    vendor_tokens_per_cny: float
    self_over_vendor: float | None
    breakeven_utilization: float | None
    breakeven_tokens_per_day: float | None
    vendor_source: str
    vendor_basis: str = "list"  # the vendor's terms applied (bench.cost.vendor_use), or its list price
    vendor_applies_from: str = ""  # the day the vendor's price started; 'by DAY' when only seen then; '?' unknown
    vendor_keys_needed: int | None = None  # API keys the --traffic-* needs under the vendor's rate limits


def compare(mine: SelfCost, price: VendorPrice, opts: CostOptions, use: VendorUse = LIST,
            as_of: dt.date | None = None) -> VendorComparison:
    """The vendor's price at the same mix, beside the self-hosted cost: its list price (cache miss), or
    with `use` its terms applied (cache hits, batch API, off-peak share, free quota; off-peak only
    from the day it started, by `as_of`, default today)."""
    eff = effective_price(price, use, as_of or dt.date.today(), opts.mix, opts.fx_cny_per_usd)
    v_in, v_out, v_blend = eff.input_cny_per_m, eff.output_cny_per_m, eff.blended_cny_per_m
    have_blend = mine.cny_per_m_blended is not None
    ratio = cost.self_over_vendor(mine.cny_per_m_blended, v_blend) if have_blend else None
    breakeven = cost.breakeven_utilization(mine.cny_per_m_blended_full_use, v_blend) if have_blend else None
    volume = None
    if breakeven is not None and breakeven <= 1:  # above 1 self-hosting never wins: no volume does it
        volume = cost.breakeven_tokens_per_day(mine.cny_per_hour, v_blend)
    return VendorComparison(
        vendor=price.vendor, vendor_model=price.label, vendor_cny_per_m_input=v_in, vendor_cny_per_m_output=v_out,
        vendor_cny_per_m_blended=v_blend, vendor_tokens_per_cny=tokens_per_cny_blended(v_blend),
        self_over_vendor=ratio, breakeven_utilization=breakeven, breakeven_tokens_per_day=volume,
        vendor_source=price.source, vendor_basis=eff.basis,
        vendor_applies_from=price.since, vendor_keys_needed=eff.keys_needed,
    )


def out_record(mine: SelfCost, cmp: VendorComparison | None, opts: CostOptions, as_of: dt.date) -> dict:
    """One `--out` line: the self-hosted figures, then the vendor's (empty when there is none)."""
    rec = {
        "run_id": mine.run_id, "model": mine.model, "hardware": mine.hardware, "basis": mine.basis,
        "gpu_cny_per_hour": mine.gpu_cny_per_hour, "utilization": mine.utilization, "mix": cost.format_mix(mine.mix),
        "cny_per_m_input": mine.cny_per_m_input, "cny_per_m_output": mine.cny_per_m_output,
        "cny_per_m_blended": mine.cny_per_m_blended, "cny_per_m_total": mine.cny_per_m_total,
        "tokens_per_cny": mine.tokens_per_cny, "gpu_count": mine.gpu_count, "cny_per_hour": mine.cny_per_hour,
        "power_w": mine.power_w, "power_source": mine.power_source, "prefill_s": mine.prefill_s,
        "decode_s": mine.decode_s, "fx_cny_per_usd": opts.fx_cny_per_usd, "as_of": as_of.isoformat(),
        "tokens_per_cny_blended": mine.tokens_per_cny_blended,
        "price_basis": mine.price_basis, "price_tier": mine.price_tier, "price_source": mine.price_source,
        "price_date": mine.price_date, "fx_date": mine.fx_date, "measured_on": mine.measured_on,
        "what_if": "yes" if mine.what_if else "",
        "cache_hit_rate": mine.cache_hit_rate, "cny_per_m_input_uncached": mine.cny_per_m_input_uncached,
    }
    if cmp is not None:
        rec.update(asdict(cmp))
    return {k: rec.get(k) for k in OUT_COLUMNS}


def check_columns(header: list[str] | None, where: str) -> None:
    if not header:
        raise BenchError(f"{where} is empty; give a results CSV written by `bench run`")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise BenchError(f"{where} lacks the column(s) {', '.join(missing)} that cost needs; "
                         "give a results CSV written by `bench run`")


def run_cost_columns(row: dict, hardware: str | None, pricing=None) -> dict:
    """The cost columns of a `bench run --hardware NAME` row, priced as `pricing` says (the run's
    bench.config.pricing.RowPricing options: basis, given price, rental tier, FX, mix, owned and tco inputs;
    None: their defaults, the rental basis at 3:1 and 7.2 CNY/USD), at 100% utilisation. Empty when there is
    no hardware, the run failed, or hardware.yaml has no price on the basis (the row is never lost over its
    price)."""
    cols = dict.fromkeys(RUN_COST_COLUMNS)
    if not hardware:
        return cols
    cols["hardware"] = hardware
    if row.get("status") != "ok":
        return cols
    opts = cost_options(*([pricing] if pricing is not None else []), hardware=hardware)
    try:
        mine = self_cost(row, opts)
    except BenchError:  # run_cost_why says why; the row is written unpriced
        return cols
    cols.update({
        "cost_basis": mine.basis, "gpu_cny_per_hour": mine.gpu_cny_per_hour, "fx_cny_per_usd": opts.fx_cny_per_usd,
        "cost_mix": cost.format_mix(opts.mix), "cny_per_m_input": mine.cny_per_m_input,
        "cny_per_m_output": mine.cny_per_m_output, "cny_per_m_blended": mine.cny_per_m_blended,
        "cny_per_m_total": mine.cny_per_m_total, "tokens_per_cny": mine.tokens_per_cny,
        "tokens_per_cny_blended": mine.tokens_per_cny_blended, "cny_per_m_input_uncached": mine.cny_per_m_input_uncached,
        "gpu_price_source": ("given with --gpu-cny-per-hour" if mine.basis == "given" else
                             f"{mine.price_source} ({mine.basis_text}; {mine.price_what}, per {mine.price_basis})"),
        "gpu_price_date": mine.price_date, "fx_date": mine.fx_date,
    })
    return cols


def run_cost_why(row: dict, hardware: str | None) -> str:
    """Why a `bench run --hardware NAME` row carries no cost ("" when it does): no hardware named, the case did not
    finish, or the reason the default options could not price it (with the fix)."""
    if row.get("cny_per_m_total") not in (None, ""):
        return ""
    if not hardware:
        return "not priced: no --hardware named (give one, or price the CSV later with bench cost --hardware NAME)"
    if row.get("status") != "ok":
        return f"not priced: the case ended {row.get('status')}"
    try:
        self_cost(row, CostOptions(hardware=hardware))
    except BenchError as e:
        return f"not priced: {e}"
    return ""
