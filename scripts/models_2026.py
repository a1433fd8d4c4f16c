"""The models teams self-host in 2026, sized: a script, not a test; docs/models.md holds its output.

For every full-size catalog model (models.yaml):
  1. total and active parameters, bench's count against the model card's (models.yaml `card`, counted the card's
     way), within 1% or within the digits the card prints;
  2. KV-cache bytes per token at bf16 and fp8 (every layer that caches tokens) and per 4,096-token sequence
     (sliding windows capped, linear states and index keys counted);
  3. the largest batch of 4,096-token sequences on H20, H100 and RTX-4090 at the smallest TP (1, 2, 4, 8) that holds
     one, and the predicted output tok/s per GPU there with its band (bench.roofline.sizing: the published fit).
With --grid, every model at TP 1, 2, 4 and 8 on H20, H100, H200 and RTX-4090: the same point where it fits, else
why not and what would make it fit (bench.roofline.memory_fit: a single change, else a pair, else the servers the
weights need; a TP vLLM refuses: the largest it accepts that fits).

    python scripts/models_2026.py [--grid] [--models a,b] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.config import catalog  # noqa: E402
from bench.model import modelmath as mm  # noqa: E402
from bench.roofline import predict, sizing  # noqa: E402

CONTEXT = 4096
SUMMARY_CARDS = ("H20", "H100-SXM", "RTX-4090")
GRID_CARDS = ("H20", "H100-SXM", "H200-SXM", "RTX-4090")
TPS = (1, 2, 4, 8)


def params_cells(cfg: dict, card) -> list[str]:
    total = mm.params_total(cfg)
    cells = [f"{total / 1e9:,.2f}B"]
    if card is None:
        return cells + ["-", f"{mm.params_active(cfg) / 1e9:,.2f}B", "-"]
    ok, dev = catalog.card_agrees(total, card.total)
    cells.append(f"{card.total} ({dev:+.1%}{'' if ok else ', OUTSIDE'})")
    if card.active:
        active = mm.active_as_counted(cfg, card.active_counts)
        ok, dev = catalog.card_agrees(active, card.active)
        cells += [f"{active / 1e9:,.2f}B ({card.active_counts})", f"{card.active} ({dev:+.1%}{'' if ok else ', OUTSIDE'})"]
    else:
        cells += [f"{mm.params_active(cfg) / 1e9:,.2f}B", "-"]
    return cells


def point_text(s: sizing.Sized) -> str:
    if not s.fits:
        return f"does not fit ({s.why_not}; would fit: {', '.join(s.would_fit) or 'no smaller TP that vLLM accepts holds it'})"
    return (f"TP {s.tp}: batch {s.batch:,}{'' if s.batch == s.max_batch else f' (of {s.max_batch:,})'}, "
            f"{s.tok_s_per_gpu:,.0f} tok/s/GPU (band {s.band_low_per_gpu:,.0f}-{s.band_high_per_gpu:,.0f})")


def smallest_fit(cfg: dict, card: str, profile) -> sizing.Sized:
    last = None
    for tp in TPS:
        last = sizing.size(cfg, card, tp, CONTEXT, profile)
        if last.fits:
            return last
    return last


def table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(r, widths)) for r in [header, *rows])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", action="store_true", help="every model at TP 1-8 on H20, H100, H200 and RTX-4090")
    ap.add_argument("--models", help="comma-separated catalog names (default: every full-size model)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    cat = catalog.load()
    names = args.models.split(",") if args.models else [n for n, e in cat.models.items() if not e.tiny]
    profile = predict.load_profile(None)
    print(f"context {CONTEXT:,} tokens; predictions: {profile.name} (band {profile.band_low:.2f}-{profile.band_high:.2f}x), "
          "steady decode with every sequence at the context, per GPU; weights in the checkpoint's format")
    rows = []
    for name in names:
        m = catalog.resolve_model(name)
        cfg = m.config
        kv16, kv8 = mm.kv_bytes_per_token(cfg, "auto"), mm.kv_bytes_per_token(cfg, "fp8")
        seq = mm.kv_bytes_per_sequence(cfg, CONTEXT)
        row = [name, *params_cells(cfg, cat.models[name].card), f"{kv16:,} / {kv8:,}", f"{seq / 2**20:,.1f} MiB"]
        for card in SUMMARY_CARDS:
            row.append(point_text(smallest_fit(cfg, card, profile)))
        rows.append(row)
    header = ["model", "total", "card total", "active (as the card counts)", "card active",
              "KV B/token bf16 / fp8", f"KV per {CONTEXT:,}-token sequence (bf16)",
              *[f"{c}: largest batch at {CONTEXT:,}" for c in SUMMARY_CARDS]]
    print(table(header, rows, args.markdown))
    if args.grid:
        for name in names:
            cfg = catalog.resolve_model(name).config
            grid = [[card] + [point_text(sizing.size(cfg, card, tp, CONTEXT, profile)).removeprefix(f"TP {tp}: ")
                              for tp in TPS] for card in GRID_CARDS]
            print(f"\n{name} ({mm.checkpoint_weight_format(cfg) or 'bfloat16'} weights, bf16 KV)")
            print(table(["card"] + [f"TP {tp}" for tp in TPS], grid, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
