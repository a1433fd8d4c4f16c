"""`bench plan`'s inputs joined: results rows (or predictions), hardware.yaml's GPU-hour prices on each basis,
prices.yaml's vendors matched to the model (models.yaml compare_with) -> one Plan. The arithmetic is
bench.analysis.plan and bench.analysis.frontier; prices come from bench.cost (nothing is re-derived here).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.analysis import frontier, intervals, plan
from bench.analysis.frontier import OperatingPoint, Point, Slo
from bench.analysis.repeats import rows_per_case
from bench.analysis.plan_points import (PERCENTILES, SERVED, Shape, measured_point, predicted_points,
                                        roofline_points)
from bench.config.prices import VendorPrice
from bench.cost.gpu_hour import cny_per_hour_for
from bench.cost.pricing import BASES, CostOptions, gpu_count_of, power_of
from bench.cost.vendor_use import VendorUse, effective_price
from bench.core.errors import BenchError
from bench.core.formats import ms, num, ratio
from bench.measure import uncertainty


@dataclass(frozen=True)
class PlanRequest:
    model: str
    hardware: tuple[str, ...]
    traffic: plan.Traffic
    slo: Slo = Slo()
    basis: str = "rental"
    vendors: tuple[str, ...] | None = None  # None: the model's like-for-like list; ("all",): every vendor
    cache_hit_rate: float = 0.0
    batch_share: float = 0.0  # share of the tokens through vendors' batch APIs
    off_peak_share: float = 0.0
    results: tuple[Path, ...] = ()
    as_of: dt.date | None = None
    cost_options: CostOptions = CostOptions()  # fx, years, electricity, given prices, rental tier...
    tensor_parallel_size: int | None = None  # predictions only; None: the model's, raised until it fits
    traffic_source: str = ""  # where the traffic's figures come from when not typed (a trace)
    profile: Path | None = None  # a calibration profile for predictions (bench calibrate); None: the published fit
    given_gpus: int | None = None  # GPUs of another tool's results file that does not say (--gpus; docs/interop.md)


@dataclass(frozen=True)
class GpuHour:
    basis: str
    cny: float | None  # per GPU-hour; None: no quote on this basis
    provenance: str  # the quote's source and date, or why there is none


@dataclass(frozen=True)
class HardwarePlan:
    hardware: str
    source: str  # "measured" or the prediction's label
    points: tuple[Point, ...]
    op: OperatingPoint | None  # None: no point meets the SLO (see best)
    best: Point | None  # the point closest to the targets (when op is None)
    fleet: plan.Fleet | None
    prices: tuple[GpuHour, ...]  # one per basis (None where the card has no price on it)
    basis: str  # the headline basis
    note: str = ""
    workload: str = ""  # the measured rows' request shapes, e.g. "512/256"
    bound: "HardwarePlan | None" = None  # predicted plans: the same plan on the roofline bound's points

    @property
    def predicted(self) -> bool:
        return bool(self.points) and self.points[0].predicted

    def gpus_in_band(self, peak_tok_s: float) -> tuple[int, int] | None:
        """A prediction's GPUs for the peak at the ends of its band: (at the band's high speed, at its low
        speed) = replicas_for(peak, band tok/s at the operating point) x GPUs per replica; None if measured."""
        if self.op is None or self.op.point.band_low_tok_s is None:
            return None
        p = self.op.point
        return (plan.replicas_for(peak_tok_s, p.band_high_tok_s) * p.gpus,
                plan.replicas_for(peak_tok_s, p.band_low_tok_s) * p.gpus)

    headline: GpuHour | None = None  # the headline's GpuHour: the basis asked for, else the next with a price

    def gpu_hour(self, basis: str | None = None) -> GpuHour:
        """The GPU-hour on `basis`; without one, the headline's (which may be another basis, labelled, where the
        card has no price on the one asked for)."""
        if basis is None and self.headline is not None:
            return self.headline
        want = basis or self.basis
        return next(p for p in self.prices if p.basis == want)

    def monthly_cny(self, basis: str | None = None) -> float | None:
        price = self.gpu_hour(basis).cny
        return None if price is None or self.fleet is None else plan.monthly_cny(self.fleet.gpus, price)


@dataclass(frozen=True)
class VendorBill:
    price: VendorPrice
    match: str  # why it stands against the model (models.yaml), "" when chosen by --vendors
    cny_per_m: float  # blended at the mix, terms applied
    terms: str  # "list" or the rules applied
    monthly_cny: float
    keys_needed: int | None

    @property
    def marks(self) -> str:
        """'free', 'rate-limited', 'free, rate-limited' or '' (bench.cost.matching.marks)."""
        from bench.cost.matching import marks

        return marks(self.price)


@dataclass(frozen=True)
class Plan:
    request: PlanRequest
    model: str
    as_of: dt.date
    hardware: tuple[HardwarePlan, ...]
    vendors: tuple[VendorBill, ...]
    notes: tuple[str, ...] = field(default=())

    def break_even(self, hp: HardwarePlan, bill: VendorBill) -> plan.BreakEven | None:
        price = hp.gpu_hour().cny
        if hp.op is None or price is None:
            return None
        return plan.break_even(price * hp.op.point.gpus, hp.op.point.total_tok_s,
                               self.request.traffic.peak_to_mean, bill.cny_per_m)

    def self_cny_per_m(self, hp: HardwarePlan, basis: str | None = None) -> float | None:
        monthly = hp.monthly_cny(basis)
        return None if monthly is None else plan.cny_per_m_at(monthly, self.request.traffic.tokens_per_month)

    def gpus_range(self, hp: HardwarePlan) -> tuple[int, int] | None:
        """The fleet's GPUs at the ends of the operating point's throughput interval (bench.analysis.intervals: the
        repeats' 95% t-interval, a prediction's band): every point's throughput scaled alike and the fleet sized
        again, (at the high end, at the low end); None without an interval."""
        if hp.op is None:
            return None
        spread = intervals.spread_of(hp.op.point)
        if not spread.known:
            return None

        def gpus_at(f: float) -> int:
            pts = [replace(p, total_tok_s=p.total_tok_s * f) for p in hp.points]
            op = replace(hp.op, point=replace(hp.op.point, total_tok_s=hp.op.point.total_tok_s * f))
            return plan.size_fleet(pts, op, self.request.traffic, batch_share=self.request.batch_share).gpus

        return uncertainty.image(gpus_at, spread.lo, spread.hi)

    def monthly_range(self, hp: HardwarePlan, basis: str | None = None) -> tuple[float, float] | None:
        """The fleet's CNY a month at the ends of gpus_range."""
        gpus, price = self.gpus_range(hp), hp.gpu_hour(basis).cny
        if gpus is None or price is None:
            return None
        return plan.monthly_cny(gpus[0], price), plan.monthly_cny(gpus[1], price)

    def cny_per_m_band(self, hp: HardwarePlan, basis: str | None = None) -> tuple[float, float] | None:
        """A prediction's CNY/M at the ends of its band (the fleets of HardwarePlan.gpus_in_band); None when
        measured or unpriced."""
        t = self.request.traffic
        gpus, price = hp.gpus_in_band(t.peak_tok_s), hp.gpu_hour(basis).cny
        if gpus is None or price is None:
            return None
        lo, hi = gpus
        return (plan.cny_per_m_at(plan.monthly_cny(lo, price), t.tokens_per_month),
                plan.cny_per_m_at(plan.monthly_cny(hi, price), t.tokens_per_month))


def gpu_hours(hw_name: str, book, opts: CostOptions) -> tuple[GpuHour, ...]:
    """One GPU-hour of `hw_name` on each basis (bench.cost.pricing): a given price (--gpu-cny-per-hour) on
    every basis, else each basis's quote in the options' market and day (None where the card has none); power for
    owned/tco is the card's TDP (busy or idle)."""
    hw = book.hardware[hw_name]
    power_w, _ = power_of({}, hw, 1)
    out = []
    for basis in BASES:
        try:
            hourly = cny_per_hour_for(hw_name, hw, 1, power_w, replace(opts, basis=basis, basis_fallback=False))
        except BenchError as e:
            out.append(GpuHour(basis, None, str(e)))
            continue
        out.append(GpuHour(basis, hourly.cny_per_hour, hourly.label))
    return tuple(out)


def headline_hour(hw_name: str, book, opts: CostOptions, prices: tuple[GpuHour, ...]) -> GpuHour:
    """The GPU-hour of the headline basis; where the card has none, the next basis with a price, labelled with the
    one asked for (bench.cost.pricing.NEXT_BASES), so no card drops out of the plan; else the basis's own 'none'."""
    asked = next(p for p in prices if p.basis == opts.basis)
    if asked.cny is not None:
        return asked
    hw = book.hardware[hw_name]
    power_w, _ = power_of({}, hw, 1)
    try:
        hourly = cny_per_hour_for(hw_name, hw, 1, power_w, opts)
    except BenchError:
        return asked
    return GpuHour(hourly.basis, hourly.cny_per_hour, hourly.label)


def rows_for(paths: tuple[Path, ...], model: str, book, hardware: tuple[str, ...] = (),
             gpus: int | None = None) -> list[dict]:
    """Ok rows of `model` (case-insensitive) in the results files, a case's repeats in a file as one row
    (bench.analysis.repeats.rows_per_case); BenchError for a missing or unreadable file.
    Another tool's file (bench.interop) is read as bench rows: the model planned for, the one candidate card and
    --gpus fill what it does not say (with several candidates, the card must be in the file: bench import
    --hardware puts it there)."""
    from bench.interop import read
    from bench.results.store import check_results_file
    from bench.interop.source import Given

    given = Given(model=model, hardware=hardware[0] if len(hardware) == 1 else None, gpus=gpus)
    rows = []
    for path in paths:
        if not path.is_dir():
            check_results_file(path)
        _, found = read.read_rows(path, given, read.PRICE)
        # a case's repeats stand as one row, their median, with their throughput's interval (analysis.repeats)
        rows += rows_per_case([r for r in found if (r.get("status") or "ok") == "ok"
                               and str(r.get("model") or "").lower() == model.lower()])
    return rows


def shape_of(row: dict) -> str:
    """'input/output' tokens per request of a row ('?' where not recorded)."""
    def n(key):
        v = row.get(key)
        return "?" if v is None else str(int(v))
    return f"{n('input_len')}/{n('output_len')}"


def measured_groups(rows: list[dict], hw_name: str, percentile: int, book, cache_hit_rate: float = 0.0,
                    profile=None, served_latency: bool = True) -> dict[tuple[int, str], list[Point]]:
    """Points of the rows that ran on `hw_name`, by (GPUs per replica, request shape): a front is read from rows of
    one parallelism and one workload only. Sim rows (predicted, labelled) count only where no row was measured.
    A prefix-cache hit rate the rows did not measure is credited as the prefill work it saves
    (bench.analysis.plan_points.cache_speedup)."""
    from bench.cost.hwchoice import measured_hardware
    from bench.cost.predicted import prediction_of

    points: list[tuple[tuple[int, str], Point]] = []
    hw = book.hardware[hw_name]
    mine = [r for r in rows if measured_hardware(r, book) == hw_name]
    # measured rows first: sim rows only where nothing was measured (and only then simulated as served)
    for group in ([r for r in mine if prediction_of(r) is None], [r for r in mine if prediction_of(r) is not None]):
        for r in group:
            gpus = gpu_count_of(r, hw)
            p = measured_point(r, percentile, gpus, cache_hit_rate, profile, served_latency)
            if p is not None:
                points.append(((gpus, shape_of(r)), p))
        if points:
            break
    groups: dict[tuple[int, str], list[Point]] = {}
    for key, p in points:
        groups.setdefault(key, []).append(p)
    return groups


def plan_hardware(hw_name: str, points: list[Point], req: PlanRequest, prices: tuple[GpuHour, ...],
                  note: str = "", workload: str = "", headline: GpuHour | None = None,
                  boundaries: frozenset[str] = frozenset()) -> HardwarePlan:
    """The operating point at the SLO and the fleet for the traffic, or the best point when none meets it. A level
    `bench serve --find-max-load` marked as the boundary for these targets (`boundaries`: run_ids) is the
    replica's capacity where the rows have one (bench.analysis.boundary)."""
    from bench.analysis.boundary import boundary_operating_point

    source = points[0].source if points else ""
    op = frontier.at_slo(points, req.slo) if points else None
    op = boundary_operating_point(points, boundaries) or op
    if op is None:
        best = frontier.best_available(points, req.slo) if points else None
        return HardwarePlan(hw_name, source, tuple(points), None, best, None, prices, req.basis, note, workload,
                            headline=headline)
    fleet = plan.size_fleet(points, op, req.traffic, batch_share=req.batch_share)
    return HardwarePlan(hw_name, source, tuple(points), op, None, fleet, prices, req.basis, note, workload,
                        headline=headline)


def closest_shapes(shapes: list[str], mix: tuple[float, float]) -> set[str]:
    """Of measured request shapes 'in/out', those whose in:out ratio is closest to the traffic's mix (by the
    ratio of the two ratios); all of them when none says its lengths."""
    import math

    def distance(shape: str) -> float:
        i, _, o = shape.partition("/")
        if not (i.isdigit() and o.isdigit()) or int(o) == 0 or int(i) == 0:
            return math.inf
        return abs(math.log((int(i) / int(o)) / (mix[0] / mix[1]))) if mix[0] else math.inf

    best = min(distance(s) for s in shapes)
    return {s for s in shapes if distance(s) == best}


def cheapest(options: list[HardwarePlan]) -> HardwarePlan:
    """Of one card's options (measured TP groups): the one meeting the SLO at the lowest monthly cost
    (on the headline basis), else the most tokens/s per GPU."""
    def key(hp: HardwarePlan):
        monthly = hp.monthly_cny()
        per_gpu = hp.op.point.tok_s_per_gpu if hp.op else 0.0
        return (hp.op is None, monthly if monthly is not None else float("inf"), -per_gpu)
    return min(options, key=key)


def vendor_bills(req: PlanRequest, matches: list[tuple[VendorPrice, str]], as_of: dt.date) -> tuple[VendorBill, ...]:
    """Each vendor's month for the traffic: terms applied at the plan's volume, keys for the peak."""
    t = req.traffic
    use = VendorUse(cache_hit_rate=req.cache_hit_rate, batch_share=req.batch_share, off_peak_share=req.off_peak_share,
                    monthly_tokens=t.tokens_per_month, traffic_tokens_per_min=t.peak_tokens_per_min,
                    traffic_requests_per_min=t.peak_requests_per_min)
    bills = []
    for price, why in matches:
        eff = effective_price(price, use, as_of, t.mix, req.cost_options.fx_cny_per_usd)
        bills.append(VendorBill(price, why, eff.blended_cny_per_m, eff.basis,
                                plan.vendor_monthly_cny(eff.blended_cny_per_m, t.tokens_per_month), eff.keys_needed))
    return tuple(sorted(bills, key=lambda b: (b.monthly_cny, b.price.vendor, b.price.model)))


def matched_vendors(model, req: PlanRequest, as_of: dt.date) -> tuple[list[tuple[VendorPrice, str]], list[str]]:
    """(price, why) for the vendors to compare (bench.cost.matching: like-for-like by default), and notes."""
    from bench.config.prices import load_prices
    from bench.cost.matching import vendors_for

    return vendors_for(model.name, req.vendors, as_of, load_prices())


def build_plan(req: PlanRequest) -> Plan:
    """The whole plan; BenchError for bad input, and when no hardware has a point meeting the SLO (naming the
    best available point)."""
    from bench.analysis.boundary import boundary_refs
    from bench.config import catalog
    from bench.config.hardware import load_hardware

    if req.slo.percentile not in PERCENTILES:
        raise BenchError(f"--slo-percentile {req.slo.percentile}: results rows hold p50 and p99; give 50 or 99")
    if req.basis not in BASES:
        raise BenchError(f"--basis {req.basis}: give one of {', '.join(BASES)}")
    model = catalog.resolve_model(req.model)
    book = load_hardware()
    as_of = req.as_of or dt.date.today()
    matches, notes = matched_vendors(model, req, as_of)
    rows = rows_for(req.results, model.name, book, req.hardware, req.given_gpus)
    shape = Shape(req.traffic.input_len, req.traffic.output_len)
    from bench.roofline.predict import load_profile

    profile = load_profile(str(req.profile)) if req.profile else None  # a bad file fails before anything else
    plans = []
    cost_opts = replace(req.cost_options, as_of=req.cost_options.as_of or as_of)
    found = frozenset(boundary_refs(rows, req.slo))  # the searches' boundaries for the plan's own targets
    for hw_name in req.hardware:
        prices = gpu_hours(hw_name, book, cost_opts)
        head = headline_hour(hw_name, book, replace(cost_opts, basis=req.basis), prices)
        # served latencies (the simulated server) where a latency target needs them; else the rows' own
        groups = measured_groups(rows, hw_name, req.slo.percentile, book, req.cache_hit_rate, profile, req.slo.given)
        if groups:
            nearest = closest_shapes([k[1] for k in groups], req.traffic.mix)
            options = [plan_hardware(hw_name, pts, req, prices, workload=shape_text, headline=head, boundaries=found)
                       for (_, shape_text), pts in groups.items() if shape_text in nearest]
            plans.append(cheapest(options))
            continue
        profile = profile or load_profile(None)
        pts, why = predicted_points(model, hw_name, shape, req.tensor_parallel_size, profile=profile,
                                    cache_hit_rate=req.cache_hit_rate,
                                    percentile=req.slo.percentile if req.slo.given else None, slo=req.slo)
        workload = f"{shape.input_len}/{shape.output_len}"
        note = why or prediction_note(model.name, hw_name, profile)
        bound = plan_hardware(hw_name, roofline_points(model, hw_name, shape, req.tensor_parallel_size,
                                                       cache_hit_rate=req.cache_hit_rate), req, prices,
                              workload=workload, headline=head) if pts else None
        plans.append(replace(plan_hardware(hw_name, pts, req, prices, note=note, workload=workload, headline=head),
                             bound=bound))
    if req.slo.given and not any(hp.op for hp in plans):
        bests = [(frontier.shortfall(hp.best, req.slo), hp) for hp in plans if hp.best is not None]
        if not bests:
            raise BenchError(f"no point for {model.name} on {', '.join(req.hardware)}: "
                             + "; ".join(hp.note for hp in plans if hp.note))
        _, hp = min(bests, key=lambda x: x[0])
        raise BenchError(f"no point of {model.name} on {', '.join(req.hardware)} meets {req.slo.text()}; the best "
                         f"available: {describe_point(hp.hardware, hp.best, req.slo.percentile)}; "
                         + refusal_fix(plans, req.slo))
    if not any(hp.points for hp in plans):
        raise BenchError(f"no point for {model.name}: " + "; ".join(hp.note for hp in plans if hp.note))
    return Plan(req, model.name, as_of, tuple(plans), vendor_bills(req, matches, as_of), tuple(notes))


def prediction_note(model: str, hw_name: str, profile) -> str:
    """What a predicted card's figures rest on: the calibration, its band, and a user profile fitted elsewhere."""
    text = (f"nothing of {model} measured on {hw_name}: expected values from calibration {profile.name} (measured "
            f"speed expected within {num(profile.band_low)}-{ratio(profile.band_high)} of them, no faster than the "
            "roofline bound, which is shown beside them)")
    if profile.hardware and profile.hardware.lower() != hw_name.lower():
        text += f"; calibration {profile.name} was fitted on {profile.hardware}, not {hw_name}"
    return text


def refusal_fix(plans: list[HardwarePlan], slo: Slo) -> str:
    """What to do when no point meets the targets, naming the real reason: rows of offline runs (bench run, sweep,
    sim) hold no served TTFT (every request is submitted at t=0, so their TTFT is mostly the wait for a batch slot);
    else relax the targets or add hardware."""
    offline = [hp for hp in plans if hp.points and not any(p.served or p.latency_stat == "mean" for p in hp.points)]
    if slo.ttft_ms is not None and offline:
        cards = ", ".join(hp.hardware for hp in offline)
        return (f"the points of {cards} are offline rows (bench run, sweep or sim: every request submitted at t=0), "
                "whose TTFT is mostly the wait for a batch slot, not a served TTFT; give `bench serve` rows of the "
                "model on these cards, or plan without those results files to use the served prediction (the "
                "simulated server, bench serve --engine sim), or relax the targets")
    return "relax the targets or add hardware"


SERVED_NOTE = ("its latencies are served predictions: the simulated server (bench serve --engine sim) at a closed "
               "loop of each batch's streams, p{p} over 2 x batch requests (at least 32), queueing included")


def served_prediction(hp: HardwarePlan) -> bool:
    """Whether a card's predicted latencies come from the simulated server (Point.latency_stat SERVED)."""
    return any(pt.latency_stat == SERVED for pt in hp.points)


def latency_name(p: Point, percentile: int) -> str:
    """What a point's TTFT / TPOT are: 'p99' over measured requests, 'served p99, predicted' of the simulated server
    (a closed loop at the batch), or 'mean step' of a prediction."""
    if p.latency_stat == SERVED:
        return f"served p{percentile}, predicted"
    return "mean step" if p.latency_stat == "mean" else f"p{percentile}"


def describe_point(hardware: str, p: Point, percentile: int) -> str:
    """'H100-SXM batch 8 (measured, run X): TTFT p99 350 ms, TPOT p99 12 ms' ('mean step' for a prediction)."""
    def latency(x):
        return "not measured" if x is None else f"{ms(x)} ms"
    ref = f", {p.ref}" if p.ref else ""
    stat = latency_name(p, percentile)
    return (f"{hardware} batch {num(p.batch)} ({p.source}{ref}): TTFT {stat} {latency(p.ttft_ms)}, "
            f"TPOT {stat} {latency(p.tpot_ms)}")
