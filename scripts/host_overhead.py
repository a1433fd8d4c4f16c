"""vLLM's host-side work per engine step against the batch size, measured on the CPU build with a tiny model.

On a GPU the model runs on the card; what stays on the host each step is vLLM's Python: the scheduler
(Scheduler.schedule), the input preparation (the model runner's _prepare_inputs), the update from the model's
output (Scheduler.update_from_output) and the output processing (OutputProcessor.process_outputs: detokenising,
request outputs). This script times exactly those functions (wrapped in place, engine in-process) while B
sequences decode, for several B, and fits host seconds per step = a + b x B: b is the per-sequence host cost that
bench.roofline.efficiency's sequence_overhead_s stands for. The model's own forward (here on the CPU too) is not
counted. A figure of this machine's CPU (2 shared cores here): a server's host cores are faster, so it bounds a GPU
engine's per-sequence cost from above, not below.

    .venv/bin/python scripts/host_overhead.py [--model model_configs/tiny-qwen2] [--batches 1 16 64 256]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TIMED = {  # module path -> (class, method, label)
    "vllm.v1.core.sched.scheduler": [("Scheduler", "schedule", "schedule"),
                                     ("Scheduler", "update_from_output", "update_from_output")],
    "vllm.v1.engine.output_processor": [("OutputProcessor", "process_outputs", "process_outputs")],
    "vllm.v1.worker.gpu_model_runner": [("GPUModelRunner", "_prepare_inputs", "prepare_inputs")],
}


def wrap(times: dict) -> list[str]:
    """Time each TIMED method into times[label] (seconds per call); the labels found."""
    import importlib

    found = []
    for mod_name, methods in TIMED.items():
        mod = importlib.import_module(mod_name)
        for cls_name, meth, label in methods:
            cls = getattr(mod, cls_name, None)
            fn = getattr(cls, meth, None) if cls else None
            if fn is None:
                continue

            def timed(*a, __fn=fn, __label=label, **k):
                t0 = time.perf_counter()
                try:
                    return __fn(*a, **k)
                finally:
                    times[__label].append(time.perf_counter() - t0)

            setattr(cls, meth, timed)
            found.append(label)
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO_ROOT / "model_configs" / "tiny-qwen2"))
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64, 256])
    ap.add_argument("--output-len", type=int, default=48)
    ap.add_argument("--input-len", type=int, default=16)
    a = ap.parse_args()
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # the engine core in this process, so it is timed
    times: dict = defaultdict(list)
    found = wrap(times)

    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    vocab = json.loads((Path(a.model) / "config.json").read_text())["vocab_size"]
    top = max(a.batches)
    llm = LLM(model=a.model, dtype="float32", load_format="dummy", skip_tokenizer_init=True, enforce_eager=True,
              max_model_len=a.input_len + a.output_len + 16, max_num_seqs=top, enable_prefix_caching=False,
              kv_cache_memory_bytes=1 << 30, seed=0)
    params = SamplingParams(max_tokens=a.output_len, ignore_eos=True, detokenize=False, temperature=1.0, top_p=1.0)
    rows = []
    for b in a.batches:
        prompts = [TokensPrompt(prompt_token_ids=[(7 * i + j) % (vocab - 200) + 100 for j in range(a.input_len)])
                   for i in range(b)]
        llm.generate(prompts, [params] * b, use_tqdm=False)  # warm
        for v in times.values():
            v.clear()
        llm.generate(prompts, [params] * b, use_tqdm=False)
        # the middle of the run: every sequence decoding (the first steps prefill, the last few drain)
        per_step = {}
        for label in found:
            calls = times[label]
            mid = calls[len(calls) // 4: 3 * len(calls) // 4] or calls
            per_step[label] = statistics.median(mid) if mid else 0.0
        rows.append((b, per_step))
        print(f"batch {b:4d}: " + ", ".join(f"{k} {v * 1e6:,.0f} us" for k, v in per_step.items())
              + f"; host total {sum(per_step.values()) * 1e6:,.0f} us a step", flush=True)
    import numpy as np

    xs = np.array([b for b, _ in rows], dtype=float)
    ys = np.array([sum(p.values()) for _, p in rows])
    slope, intercept = np.polyfit(xs, ys, 1)
    print(f"fit: host seconds a step = {intercept * 1e6:,.0f} us + {slope * 1e6:,.1f} us x sequences "
          f"(batches {', '.join(str(int(x)) for x in xs)}; measured {time.strftime('%Y-%m-%d')}, this machine)")
    for label in found:
        ys_l = np.array([p[label] for _, p in rows])
        s, c = np.polyfit(xs, ys_l, 1)
        print(f"  {label}: {c * 1e6:,.0f} us + {s * 1e6:,.2f} us x sequences")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
