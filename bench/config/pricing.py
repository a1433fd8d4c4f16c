"""The options that price tokens, each declared once (bench.config.flags.option) and composed by every command
that takes it (docs/cost.md):

- GpuHourOptions: what one GPU-hour costs (basis, given prices, rental tier, the owned and tco inputs);
- MoneyOptions: the FX rate and the input:output mix of blended prices;
- PriceDayOptions: the day whose vendor prices apply;
- PricedAsOptions: the card every row is priced as (what-if), and the share of paid hours doing useful work;
- SloOptions: a latency target (bench.measure.slo.Slo);
- VendorChoiceOptions, VendorTermsOptions, VendorVolumeOptions: which API prices, and how the API would be used.

`bench run`, `sweep` and `serve` price their rows with RowPricing (RunConfig's base, so a sweep file sets it too);
`bench cost`, `report`, `plan`, `prices` and `explain` compose the models they need beside their own options.
The values that need a reading of their own (a day, an IN:OUT mix, an X|NAME=X price, a hardware.yaml card) are
field types here, so a bad one is one line naming the option and the fix, on the command line and in a sweep file.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, PlainSerializer, PlainValidator, model_validator

from bench.config.flags import Group, option
from bench.config.hardware import RENTAL_TIERS, canonical_name, load_hardware, market_of
from bench.core import money
from bench.core.errors import BenchError
from bench.measure.slo import Slo

Basis = Literal["rental", "owned", "tco"]
BASES: tuple[str, ...] = typing.get_args(Basis)
RentalTier = Literal[RENTAL_TIERS]
GPU_PRICE_FORM = "give X or NAME=X,NAME=X (CNY per GPU-hour), e.g. H20=9.5,H100-SXM=14"


class Mix(typing.NamedTuple):
    """Input tokens to output tokens of a blend, e.g. 3:1 (what --mix reads; a plain (in, out) tuple too)."""

    input: float
    output: float

    def __str__(self) -> str:
        return money.format_mix(self)


def _mix(value: Any) -> Mix:
    if isinstance(value, (list, tuple)) and len(value) == 2 and not isinstance(value, str):
        value = ":".join(str(x) for x in value)
    if not isinstance(value, str):  # YAML reads an unquoted 3:1 as the base-60 number 181
        raise ValueError(f"expected INPUT:OUTPUT such as 3:1 (quoted in a YAML file: '3:1'), got {value!r}")
    return Mix(*money.parse_mix(value))


def _number(x: float) -> str:
    """A price as the user would type it again, without losing a digit."""
    return f"{x:g}" if float(f"{x:g}") == x else repr(x)


@dataclass(frozen=True)
class GpuPrices:
    """--gpu-cny-per-hour: all-in CNY per GPU-hour replacing the basis, for every card (`every_card`) and per
    hardware.yaml card (`by_card`, canonical names). Written back as the user types it: H20=9.5,12."""

    every_card: float | None = None
    by_card: tuple[tuple[str, float], ...] = ()

    def __str__(self) -> str:
        every = [] if self.every_card is None else [_number(self.every_card)]
        return ",".join([f"{name}={_number(price)}" for name, price in self.by_card] + every)


def parse_gpu_prices(value: Any) -> GpuPrices:
    """'12' -> every card 12; 'H20=9.5,H100-SXM=14' -> those cards; a bare number among pairs prices every other
    card. A number or a {NAME: X} mapping (a sweep file) is read alike. Names are hardware.yaml's, matched
    case-insensitively (did-you-mean on a typo). ValueError naming the fix."""
    if isinstance(value, GpuPrices):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = repr(value)
    elif isinstance(value, dict):
        value = ",".join(f"{name}={price}" for name, price in value.items())
    if not isinstance(value, str):
        raise ValueError(f"expected a price, {GPU_PRICE_FORM}")
    items = [x.strip() for x in value.split(",") if x.strip()]
    if not items:
        raise ValueError(f"empty; {GPU_PRICE_FORM}")
    every, by_card = None, {}
    book = load_hardware() if any("=" in item for item in items) else None  # a broken file is its own error
    for item in items:
        name, sep, number = item.rpartition("=")
        try:
            price = float(number)
        except ValueError:
            raise ValueError(f"{item!r} is not a number; {GPU_PRICE_FORM}") from None
        if not (price > 0 and math.isfinite(price)):
            raise ValueError(f"{item!r} must be a positive CNY per GPU-hour")
        if sep and not name.strip():
            raise ValueError(f"{item!r} names no card before '='; give NAME=X (e.g. H20=9.5) or a bare X for "
                             "every card")
        if not sep:
            if every is not None:
                raise ValueError(f"two prices for every card ({_number(every)} and {item}); give one")
            every = price
            continue
        try:
            card = canonical_name(name.strip(), book)
        except BenchError as e:
            raise ValueError(str(e)) from None
        if card in by_card:
            raise ValueError(f"{card} is given twice; give one price per card")
        by_card[card] = price
    return GpuPrices(every, tuple(by_card.items()))


def _card(value: Any) -> str:
    """A hardware.yaml card, spelt as hardware.yaml spells it (did-you-mean on a typo)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a hardware.yaml card name, e.g. H20")
    book = load_hardware()  # a broken file is its own error, not this option's
    try:
        return canonical_name(value, book)
    except BenchError as e:
        raise ValueError(str(e)) from None


def _day(value: Any) -> dt.date:
    """A day written YYYY-MM-DD; one in that form that does not exist (2026-02-30) says so: its form was right."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError("expected a date as YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as e:
        raise ValueError(f"not a real date ({e})") from None


def _bounded(low: float, high: float, low_open: bool, expected: str):
    """A float check with the wording the command line has always used: 'expected a share in [0, 1] ...'."""
    def check(x: float) -> float:
        if not (math.isfinite(x) and (x > low if low_open else x >= low) and x <= high):
            raise ValueError(f"expected {expected}")
        return x
    return AfterValidator(check)


Positive = Annotated[float, _bounded(0.0, math.inf, True, "a number above 0")]
NonNegative = Annotated[float, _bounded(0.0, math.inf, False, "a number >= 0")]
Fraction = Annotated[float, _bounded(0.0, 1.0, True, "a fraction in (0, 1] such as 0.3")]
Share = Annotated[float, _bounded(0.0, 1.0, False, "a share in [0, 1] such as 0.5")]
MixText = Annotated[Mix, PlainValidator(_mix), PlainSerializer(str)]
GpuPricesText = Annotated[GpuPrices, PlainValidator(parse_gpu_prices), PlainSerializer(str)]
Card = Annotated[str, PlainValidator(_card)]
MarketName = Annotated[str, PlainValidator(market_of)]
Day = Annotated[dt.date, PlainValidator(_day), PlainSerializer(str)]


class SharedOptions(BaseModel):
    """Options several commands take: bench.cli.options lists them after a command's own."""

    cli_groups: ClassVar[dict[str, Group]] = {
        "pricing": Group("pricing (docs/cost.md)"),
        "owned": Group("owned and tco bases"),
        "slo": Group("latency target: the cost at the batch that meets it (docs/plan.md)"),
        "vendors": Group("vendors (default: list prices, cache miss)"),
    }


class GpuHourOptions(SharedOptions):
    """What one GPU-hour costs."""

    basis: Basis = option("rental", "rental: price per card-hour; owned: purchase amortised + GPU energy + hosting; "
                                    "tco: all-in owning (card + host share + networking, host power, colocation, "
                                    "cost of capital; docs/cost.md)", group="pricing")
    gpu_cny_per_hour: GpuPricesText | None = option(
        None, "all-in CNY for one GPU-hour, replacing the basis: X for every card, or per card (H20=9.5,H100-SXM=14); "
              "a card not named keeps the basis", metavar="X|NAME=X,...", group="pricing")
    rental_tier: RentalTier | None = option(None, "rental quote to use (hardware.yaml rental_tiers; china-cloud: the "
                                                  "cn market's on-demand quote); default on-demand", group="pricing")
    market: MarketName = option("cn", "whose GPU quotes price a card: cn (mainland China: AutoDL and other Chinese "
                                      "clouds, China server prices) or global (RunPod's list prices, US card prices); "
                                      "a card with no quote there uses the other market's, labelled", metavar="cn|global",
                                group="pricing")
    years: Positive = option(money.DEFAULT_AMORTIZATION_YEARS, "amortisation period", metavar="N", group="owned")
    electricity_cny_per_kwh: NonNegative = option(money.DEFAULT_ELECTRICITY_CNY_PER_KWH, "electricity price",
                                                  metavar="X", group="owned")
    pue: Positive = option(money.DEFAULT_PUE, "data-centre power usage effectiveness", metavar="X", group="owned")
    hosting_cny_per_month: NonNegative = option(money.DEFAULT_HOSTING_CNY_PER_MONTH_PER_CARD, "rack, network and "
                                                "operations per card per month", metavar="X", group="owned")
    cost_of_capital: NonNegative = option(0.0, "tco basis: cost of capital per year, e.g. 0.1 (0: straight line; no "
                                               "sourced figure)", metavar="R", group="owned")
    colocation_cny_per_kw_month: NonNegative | None = option(
        None, "tco basis: data-centre space per kW of IT load per month (default USD 150 at the FX rate)",
        metavar="X", group="owned")


class MoneyOptions(SharedOptions):
    """Currency and blend."""

    fx_cny_per_usd: Positive = option(money.DEFAULT_FX_CNY_PER_USD, "CNY per USD for USD prices (docs/cost.md)",
                                      metavar="RATE", group="pricing")
    mix: MixText = option(Mix(*money.DEFAULT_MIX), "input:output tokens of blended prices (public comparisons' "
                                                   "convention; bench plan: of the traffic)", metavar="IN:OUT",
                          group="pricing")


class RowPricing(MoneyOptions, GpuHourOptions):
    """How a results row is priced (bench.cost.pricing): the GPU-hour, the FX rate and the blend."""


class PriceDayOptions(SharedOptions):
    as_of: Day | None = option(None, "the day whose prices apply, YYYY-MM-DD (default today)", metavar="DATE",
                               group="pricing")


class PricedAsOptions(SharedOptions):
    """Which card prices every row, and how busy it is."""

    what_if_hardware: Card | None = option(None, "price every row as this hardware.yaml card instead of the one it ran "
                                                 "on (labelled what-if)", metavar="NAME", group="pricing")
    utilization: Fraction = option(1.0, "share of paid hours doing useful work, (0, 1]; cost per token is divided by "
                                        "it", metavar="U", group="pricing")


class SloOptions(SharedOptions):
    """A latency target; results rows hold p50 and p99 latencies."""

    # constraints on the field, not in the type: bench serve re-reads these two (ServeConfig, reworded)
    slo_ttft_ms: float | None = option(None, "time-to-first-token target, ms", metavar="T", group="slo", gt=0,
                                       allow_inf_nan=False)
    slo_tpot_ms: float | None = option(None, "time-per-output-token target, ms", metavar="P", group="slo", gt=0,
                                       allow_inf_nan=False)
    slo_percentile: Literal[50, 99] = option(99, "percentile the targets apply to", group="slo")

    @property
    def slo(self) -> Slo:
        return Slo(self.slo_ttft_ms, self.slo_tpot_ms, percentile=self.slo_percentile)


class VendorChoiceOptions(SharedOptions):
    vendors: list[str] | None = option(None, "vendors or vendor models to compare, comma-separated; all: every price "
                                             "in force (default: the model's like-for-like API models, models.yaml "
                                             "compare_with; bench report: every price in force)", metavar="A,B|all",
                                       group="vendors")


class VendorTermsOptions(SharedOptions):
    """How the API would be used: each vendor's terms in prices.yaml applied (docs/cost.md, step 4)."""

    cache_hit_rate: Share | None = option(None, "share of input tokens served from the vendor's context cache, "
                                                "[0, 1] (bench cost: default each row's measured "
                                                "prefix_cache_hit_rate, else 0)", metavar="H", group="vendors")
    batch_api: bool = option(False, "use the batch API where the vendor has a discount (--batch-share 1)",
                             group="vendors")
    batch_share: Share | None = option(None, "share of tokens sent through the vendor's batch API, where it has a "
                                             "discount, [0, 1]", metavar="S", group="vendors")
    off_peak_share: Share = option(0.0, "share of tokens sent in the vendor's off-peak window, [0, 1]", metavar="S",
                                   group="vendors")

    @model_validator(mode="after")
    def _one_batch_option(self):
        if self.batch_api and self.batch_share is not None:
            raise ValueError("--batch-api is --batch-share 1; give one of them")
        return self


class VendorVolumeOptions(SharedOptions):
    """The volume sent to the API: a free monthly quota, and the API keys its rate limits need."""

    monthly_tokens: NonNegative | None = option(None, "tokens a month: a monthly free quota lowers the average "
                                                      "price", metavar="N", group="vendors")
    traffic_tpm: NonNegative | None = option(None, "traffic in tokens per minute: API keys needed under each "
                                                   "vendor's TPM limit", metavar="N", group="vendors")
    traffic_rpm: NonNegative | None = option(None, "traffic in requests per minute: API keys needed under each "
                                                   "vendor's RPM limit", metavar="N", group="vendors")


# Every model above: the options bench.cli declares nowhere else (tests/cli/test_options.py checks each parser).
SHARED_MODELS: tuple[type[SharedOptions], ...] = (GpuHourOptions, MoneyOptions, PriceDayOptions, PricedAsOptions,
                                                   SloOptions, VendorChoiceOptions, VendorTermsOptions,
                                                   VendorVolumeOptions)


def changed(options: BaseModel, model: type[BaseModel]) -> list[str]:
    """The fields of `model` that `options` holds at another value than their default."""
    return [name for name, f in model.model_fields.items() if getattr(options, name) != f.default]
