"""`bench serve`: registered by bench.cli. It takes `bench run`'s options (model, workload, the
server's engine options, --hardware, --out, --verbose) with a few re-read for serving, plus the
load, SLO and endpoint options."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

DEFAULT_OUT = Path("results") / "serve.csv"
EXIT_SOME_FAILED = 3

# Options of bench serve beyond bench run's (dest names = ServeConfig fields).
SERVE_FIELDS = (
    "max_num_seqs", "burstiness", "warmup_requests", "slo_ttft_ms", "slo_tpot_ms", "slo_attainment", "endpoint",
    "api_model", "api_key_env", "allow_insecure_http", "api", "prompt_format", "ignore_eos", "server_timeout_s",
)


def rate_list(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas (inf allowed), got {text!r}") from None
    if not values or any(not (v > 0) or math.isnan(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected request rates above 0 (inf: all at once), got {text!r}")
    return values


def one_of(parse_list, plural: str):
    def parse(text: str):
        values = parse_list(text)
        if len(values) != 1:
            raise argparse.ArgumentTypeError(f"expected one value, got {text!r} (a sweep is --{plural})")
        return values[0]
    return parse


def add_serve_command(sub) -> None:
    from bench.cli import add_run_options, int_list

    p = sub.add_parser("serve", conflict_handler="resolve",
                       help="online serving: TTFT/TPOT/ITL, goodput and cost per request rate or concurrency, "
                            "on vLLM's OpenAI server or any OpenAI-compatible endpoint")
    add_run_options(p)
    # bench run's options re-read for serving
    p.add_argument("--engine", default="vllm", choices=["vllm"], help=argparse.SUPPRESS)
    p.add_argument("--num-prompts", type=int, default=64, help="requests per level (default 64)")
    p.add_argument("--max-num-seqs", type=int, default=None, help="the server's batch cap (vLLM max_num_seqs)")
    p.add_argument("--timeout", dest="timeout_s", type=float, default=3600.0, metavar="S",
                   help="time limit per level (default 3600): nothing is sent after it, unfinished requests fail")
    p.add_argument("--no-warmup", dest="warmup", action="store_false", help="no warm-up requests before each level")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results CSV to append to (default {DEFAULT_OUT})")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="show the server's log live instead of keeping it in <sweep_id>.log")

    load = p.add_argument_group("load (one of; default --concurrency 1)").add_mutually_exclusive_group()
    load.add_argument("--request-rate", type=one_of(rate_list, "rates"), default=None, metavar="R",
                      help="requests per second, Poisson arrivals (inf: all at once)")
    load.add_argument("--rates", type=rate_list, default=None, metavar="R1,R2", help="a sweep of request rates")
    load.add_argument("--concurrency", type=one_of(int_list, "concurrencies"), default=None, metavar="C",
                      help="C concurrent streams, each sending its next request when one ends")
    load.add_argument("--concurrencies", type=int_list, default=None, metavar="C1,C2", help="a sweep of concurrencies")
    p.add_argument("--burstiness", type=float, default=1.0, metavar="B",
                   help="rate levels: gamma-distributed gaps of shape B (1 Poisson, <1 burstier, >1 more even)")
    p.add_argument("--warmup-requests", type=int, default=2, metavar="K",
                   help="requests sent and not measured before each level (default 2)")

    slo = p.add_argument_group("SLO (goodput, and which level is cheapest)")
    slo.add_argument("--slo-ttft-ms", type=float, default=None, metavar="X", help="time to first token limit")
    slo.add_argument("--slo-tpot-ms", type=float, default=None, metavar="Y", help="time per output token limit")
    slo.add_argument("--slo-attainment", type=float, default=0.9, metavar="F",
                     help="share of a level's requests that must meet both for the level to meet the SLO (default 0.9)")

    ep = p.add_argument_group("endpoint (instead of starting a server)")
    ep.add_argument("--endpoint", default=None, metavar="URL",
                    help="an OpenAI-compatible server: a base (http://127.0.0.1:8000, https://host/v1) or a full "
                         ".../completions or .../chat/completions URL")
    ep.add_argument("--api-model", default=None, metavar="NAME",
                    help="model name sent in each request (default: the endpoint gets the model's hub_id; the "
                         "server bench starts serves it under --model's name, or this one)")
    ep.add_argument("--api-key-env", default=None, metavar="VAR",
                    help="the environment variable holding the API key (the key itself is never an option)")
    ep.add_argument("--allow-insecure-http", action="store_true",
                    help="allow plain http to a host that is not loopback")
    ep.add_argument("--api", choices=["completions", "chat"], default="completions",
                    help="/v1/completions (default, token-id prompts) or /v1/chat/completions (text)")
    ep.add_argument("--prompt-format", choices=["tokens", "text"], default=None,
                    help="token ids (default for completions) or text (chat, vendors)")
    ep.add_argument("--ignore-eos", action=argparse.BooleanOptionalAction, default=True,
                    help="ask for exactly --output-len tokens (vLLM's ignore_eos; --no-ignore-eos for vendors)")
    p.add_argument("--server-timeout", dest="server_timeout_s", type=float, default=900.0, metavar="S",
                   help="deadline for the local server's /health (default 900)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    from bench.cli import RUN_FIELDS
    from bench.config import serve as config
    from bench.display.serve import print_level, print_sweep
    from bench.serve.session import run_serve

    fields = {k: getattr(args, k) for k in (*RUN_FIELDS, *SERVE_FIELDS)}
    fields["request_rates"] = [args.request_rate] if args.request_rate is not None else args.rates
    fields["concurrencies"] = [args.concurrency] if args.concurrency is not None else args.concurrencies
    cfg, model, endpoint = config.resolve(config.parse(fields))
    outcome = run_serve(cfg, model, endpoint, args.out, verbose=args.verbose, on_level=print_level)
    print_sweep(outcome, cfg.hardware, cfg.slo_attainment)
    print(f"results: {args.out} (+ {args.out.with_suffix('')}/<run_id>.json, {outcome.sweep_id}.sweep.json)")
    if outcome.log_path is not None:
        print(f"server log: {outcome.log_path}")
    return 0 if outcome.ok else EXIT_SOME_FAILED
