"""Roofline prediction vs published throughput: is the bound above every measurement, and how tight?

For each row of ../shared/reference/published_throughput.csv whose model and GPU the project knows,
rebuild the published workload as well as its source describes it, predict it with bench.roofline.bound
(the same code as `--engine sim`), and print predicted / published. The roofline is an upper bound:
a ratio below 1 means the model misses something physical; far above 1 means the engine of the
measurement was far from what the hardware allows.

    python scripts/validate_roofline.py [--csv PATH] [--format table|markdown]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.config import catalog  # noqa: E402
from bench.roofline import bound as roofline, predict  # noqa: E402
from bench.core.errors import BenchError  # noqa: E402

DEFAULT_CSV = REPO_ROOT.parent / "shared" / "reference" / "published_throughput.csv"

# Published model names -> catalog names (chat and base variants share the architecture).
MODELS = {
    "deepseek-v2-lite": "deepseek-v2-lite-chat",
    "deepseek-v2": "deepseek-v2-chat",
    "llama-3-8b": "llama-3-8b-instruct",
    "qwen1.5-7b": "qwen1.5-7b-chat",
    "qwen2.5-7b": "qwen2.5-7b-instruct",
    "glm-4-9b": "glm-4-9b-chat",
}
# Published GPU names -> hardware.yaml names (the SXM part where the source does not say).
GPUS = {"a100-80g": "A100-80G-SXM", "h800": "H800-SXM", "h100": "H100-SXM", "h20": "H20", "h200": "H200-SXM",
        "rtx-4090": "RTX-4090", "l20": "L20", "l40s": "L40S"}


@dataclass(frozen=True)
class Workload:
    """A published run rebuilt: request lengths, the engine's scheduler limits, the deployment."""

    num_prompts: int
    input_len: int
    output_len: int
    max_num_seqs: int
    max_num_batched_tokens: int
    weight_dtype: str = "bfloat16"
    kv_cache_dtype: str = "auto"
    attention_data_parallel: bool = False
    basis: str = ""  # where the lengths and settings come from
    assumed: list[str] = field(default_factory=list)  # what the source does not say


# Keyed by the row's source. Lengths are the means of the published token totals; the limits are
# the defaults of the vLLM version named (0.5/0.6 API server: 256 sequences; no chunked prefill, so a
# step holds up to max_model_len prompt tokens).
WORKLOADS = {
    "sgl-project/sglang PR #905": Workload(
        1000, 236, 216, 256, 4096,
        basis="ShareGPT 1000 prompts: 236,142 input / 215,614 output tokens in the PR's log; max-model-len 4096",
        assumed=["every request at the mean lengths (ShareGPT's long tail would lower the bound)"]),
    "sgl-project/sglang issue #1639": Workload(
        2000, 227, 188, 256, 8192,
        basis="ShareGPT 2000 prompts: 453,502 input / 376,493 output tokens in the thread's SGLang run of the same prompts",
        assumed=["TP2 (as the CSV infers)", "every request at the mean lengths"]),
    "QwenLM issue #244": Workload(
        100, 1000, 1000, 256, 32768, basis="100 prompts, 1000 in / 1000 out, as the issue states"),
    "DeepSeek-V2 tech report section 3.2.3": Workload(
        8000, 2000, 500, 8192, 16384, weight_dtype="fp8", kv_cache_dtype="fp8", attention_data_parallel=True,
        basis="8 x H800, FP8 weights, KV quantised (~6 bits: fp8 modelled, so the bound is if anything low)",
        assumed=["the report gives no length mix: 2,000 in / 500 out assumed",
                 "attention data-parallel (each GPU keeps its own sequences' latent cache), MoE split over 8 GPUs"]),
}


@dataclass
class Comparison:
    model: str
    gpu: str
    metric: str
    published: float
    predicted: float | None
    source: str
    note: str

    @property
    def ratio(self) -> float | None:
        return self.predicted / self.published if self.predicted else None

    @property
    def verdict(self) -> str:
        r = self.ratio
        if r is None:
            return "skipped"
        if r < 1:
            return "BELOW published"
        return "within 1.5x" if r <= 1.5 else "bound holds, loose"


def parse_gpu(text: str) -> tuple[str | None, int]:
    m = re.match(r"\s*([A-Za-z0-9-]+)\s*x\s*(\d+)", text)
    if not m:
        return None, 1
    return GPUS.get(m.group(1).lower()), int(m.group(2))


def workload_for(source: str) -> Workload | None:
    for key, w in WORKLOADS.items():
        if source.startswith(key):
            return w
    return None


def predict_metric(model_name: str, gpu_name: str, tp: int, w: Workload, metric: str) -> float:
    model = catalog.resolve_model(model_name)
    dep = roofline.Deployment(cfg=model.config, gpu=predict.gpu_for(gpu_name), tensor_parallel_size=tp,
                              weight_dtype=w.weight_dtype, kv_cache_dtype=w.kv_cache_dtype,
                              attention_data_parallel=w.attention_data_parallel)
    if metric == "prompt tok/s":  # prefill alone: full steps of whole prompts
        per_step = max(1, w.max_num_batched_tokens // w.input_len)
        return dep.prefill_tok_s(w.input_len, per_step)
    pred = roofline.predict_workload(dep, [(w.input_len, w.output_len)] * w.num_prompts, w.max_num_seqs,
                                     w.max_num_batched_tokens)
    return {"output tok/s": pred.output_tok_s, "input tok/s": pred.input_tok_s,
            "total tok/s": pred.total_tok_s}[metric]


def compare(rows: list[dict]) -> list[Comparison]:
    out = []
    for row in rows:
        model = MODELS.get(row["model"].lower())
        gpu, tp = parse_gpu(row["gpu"])
        w = workload_for(row["source"])
        base = dict(model=row["model"], gpu=row["gpu"], metric=row["metric"], published=float(row["value"]),
                    source=row["source"])
        if model is None or gpu is None:
            why = "model" if model is None else "GPU"
            out.append(Comparison(**base, predicted=None, note=f"{why} not known to the project"))
            continue
        if w is None:
            out.append(Comparison(**base, predicted=None, note="no workload description for this source"))
            continue
        note = "; ".join(w.assumed)
        out.append(Comparison(**base, predicted=predict_metric(model, gpu, tp, w, row["metric"]), note=note))
    return out


def render(comps: list[Comparison], fmt: str) -> str:
    head = ["model", "GPU", "metric", "published", "roofline", "ratio", "verdict", "assumed"]
    lines = []
    body = [[c.model, c.gpu, c.metric, f"{c.published:,.0f}", f"{c.predicted:,.0f}" if c.predicted else "-",
             f"{c.ratio:.2f}" if c.ratio else "-", c.verdict, c.note] for c in comps]
    if fmt == "markdown":
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        lines += ["| " + " | ".join(r) + " |" for r in body]
    else:
        widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(head[:-1])]
        for r in [head] + body:
            lines.append("  ".join(x.ljust(wd) for x, wd in zip(r[:-1], widths)) + ("  " + r[-1] if r[-1] else ""))
    ratios = [c.ratio for c in comps if c.ratio]
    if ratios:
        below = sum(r < 1 for r in ratios)
        tight = sum(1 <= r <= 1.5 for r in ratios)
        lines.append("")
        lines.append(f"{len(ratios)} comparisons: ratio {min(ratios):.2f} to {max(ratios):.2f}; "
                     f"{below} below the published figure, {tight} within 1.5x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="published throughput table")
    ap.add_argument("--format", choices=["table", "markdown"], default="table")
    args = ap.parse_args(argv)
    try:
        with args.csv.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        print(f"error: {args.csv} not found (give --csv PATH)", file=sys.stderr)
        return 2
    try:
        print(render(compare(rows), args.format))
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
