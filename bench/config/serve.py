"""ServeConfig: a `bench run` case (the model, the workload, the server's engine options) plus the
load levels, the SLO and the endpoint. Validated and resolved before anything starts: bad input is
one BenchError line and nothing is run or written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import field_validator, model_validator

from bench.config import run as runconfig
from bench.config.files import validated
from bench.config.flags import Group, option, reworded
from bench.config.pricing import SloOptions
from bench.config.run import RunConfig
from bench.measure.uncertainty import min_samples_for_bound
from bench.measure.failures import DEFAULT_MAX_FAILURE_RATE
from bench.measure.slo import Slo

STALL_TIMEOUT_S = 300.0  # no byte for this long and a request fails

DEFAULT_CONCURRENCY = 1
# --find-max-load (bench.analysis.boundary): levels at most, and the bracket's width at which it stops
SEARCH_MAX_STEPS = 14  # growth to the knee (~6), bisection of a 2x bracket to 5% (4), a confirmation that fails (3) and its retry
SEARCH_TOLERANCE = 0.05
# bench calibrate --serve-rows: the serving path's parameters fitted by default (bench.roofline.servingpath names
# them; declared here, where the command line's start reads it without numpy)
# per step, not per token; the request's cost split into work (one request at a time) and latency (holding nothing
# up): docs/roofline.md's validation
SERVING_FIT_DEFAULT = ("stream_step_s", "stream_request_s", "request_latency_s")
# bench calibrate --front-end: where the server's front end runs (bench.serve.servingfit; docs/roofline.md)
FRONT_ENDS = ("auto", "shared", "own-cores", "series", "series-own-cores")


@dataclass(frozen=True)
class Level:
    kind: str  # rate | concurrency | trace
    value: float  # requests per second (inf: all at once), concurrent streams, or the trace's time scale
    repeat: int = 0  # which of --repeats this measurement of the level is (the row's repeat_index)

    @property
    def label(self) -> str:
        if self.kind == "trace":
            return f"trace x{self.value:g}"
        if self.kind == "rate":
            return "rate inf" if math.isinf(self.value) else f"rate {self.value:g}/s"
        return f"concurrency {int(self.value)}"


class ServeConfig(RunConfig):
    """RunConfig's fields keep their meaning (a few re-read for serving); `timeout_s` bounds each load level."""

    cli_groups: ClassVar[dict[str, Group]] = {
        "load": Group(f"load (one of; default --concurrency {DEFAULT_CONCURRENCY})", exclusive=True),
        "slo": Group("SLO (goodput, and which level is cheapest)"),
        "endpoint": Group("endpoint (instead of starting a server)"),
        "search": Group("the highest load the SLO allows (--find-max-load; docs/serve.md)"),
    }

    model: str | None = reworded(RunConfig, "model", "catalog name (see `bench models`) or a directory with a "
                                                     "config.json; with --endpoint it may be left out: the "
                                                     "endpoint's /v1/models names the model and prompts are text",
                                 default=None)
    engine: Literal["vllm", "sim"] = reworded(RunConfig, "engine", "vllm (vLLM's OpenAI server, or --endpoint) or sim: "
                                                             "the simulated server on --hardware, a prediction in "
                                                             "seconds (docs/roofline.md, the serving model)")
    num_prompts: int = option(64, "requests per level", ge=1, le=runconfig.MAX_NUM_PROMPTS)
    max_num_seqs: int | None = reworded(RunConfig, "max_num_seqs", "the server's batch cap (vLLM max_num_seqs)",
                                        comma_list=False)
    timeout_s: float = reworded(RunConfig, "timeout_s", "time limit per level, warm-up included: nothing is sent after "
                                                        "it, requests still running are cancelled (status timeout). "
                                                        "A run takes at most levels x (S + 1 s for a last /metrics "
                                                        "scrape), plus --server-timeout for the server bench starts: "
                                                        "with every default, one level, about 3600 s (+ 900 s)",
                                metavar="S")
    stall_timeout_s: float = option(STALL_TIMEOUT_S, "a request that receives no byte for S seconds (the first "
                                                     "one included) fails, error class timeout",
                                    flags=("--stall-timeout",), metavar="S", gt=0.0, allow_inf_nan=False)
    max_failure_rate: float = option(DEFAULT_MAX_FAILURE_RATE, "a level whose failed requests are more than this "
                                                               "share of those sent (cancelled ones aside) is failed, "
                                                               "exit 3; its warm-up is judged the same way first",
                                     metavar="F", ge=0.0, le=1.0)
    warmup: bool = reworded(RunConfig, "warmup", "no warm-up requests before each level")
    repeats: int = reworded(RunConfig, "repeats", "measure each load level N times, interleaved across levels (L1, "
                                                  "L2, L1, L2, ...) so drift hits every level alike; one row per "
                                                  "measurement, tied by repeat_index")
    until_ci: float | None = reworded(RunConfig, "until_ci", "repeat each load level until the 95% t-interval of its "
                                      "output tok/s (the throughput its CNY/M is priced from) is within +-PCT% of its "
                                      "mean, at most --repeats N times (the cap, required); a level that meets it "
                                      "stops while the others go on, still interleaved")
    request_rates: list[float] | None = option(
        None, "a sweep of request rates", flags=("--rates",), metavar="R1,R2", group="load",
        single=("--request-rate", "R", "requests per second, Poisson arrivals (inf: all at once)"))
    concurrencies: list[int] | None = option(
        None, "a sweep of concurrencies", metavar="C1,C2", group="load",
        single=("--concurrency", "C", "C concurrent streams, each sending its next request when one ends"))
    time_scale: float = option(1.0, "--dataset trace:FILE: send each request at its recorded time x S (0.5: twice "
                                    "as fast); the default load of a trace", metavar="S", gt=0.0)
    burstiness: float = option(1.0, "rate levels: gamma-distributed gaps of shape B (1 Poisson, <1 burstier, >1 more "
                                    "even, inf constant)", metavar="B", gt=0.0)
    warmup_requests: int = option(2, "requests sent and not measured before each level, at the level's own load "
                                     "(a level that must run warm: about its size)", metavar="K", ge=0)
    slo_ttft_ms: float | None = reworded(SloOptions, "slo_ttft_ms")  # the latency target of bench cost and plan
    slo_tpot_ms: float | None = reworded(SloOptions, "slo_tpot_ms")
    slo_attainment: float = option(Slo.attainment, "share of a level's requests that must meet both for the level "
                                                   "to meet the SLO", metavar="F", group="slo", gt=0.0, le=1.0)
    endpoint: str | None = option(None, "an OpenAI-compatible server: a base (http://127.0.0.1:8000, https://host/v1) "
                                        "or a full .../completions or .../chat/completions URL",
                                  metavar="URL", group="endpoint")
    api_model: str | None = option(None, "model name sent in each request (default: the endpoint gets the model's "
                                         "hub_id; the server bench starts serves it under --model's name, or this "
                                         "one)", metavar="NAME", group="endpoint")
    api_key_env: str | None = option(None, "the environment variable holding the API key (the key itself is never "
                                           "an option)", metavar="VAR", group="endpoint")
    allow_insecure_http: bool = option(False, "allow plain http to a host that is not loopback", group="endpoint")
    api: Literal["completions", "chat"] = option("completions", "/v1/completions (token-id prompts) or "
                                                                "/v1/chat/completions (text)", group="endpoint")
    prompt_format: Literal["tokens", "text"] | None = option(
        None, "token ids (default for completions) or text (chat, vendors)", group="endpoint")
    ignore_eos: bool = option(True, "ask for exactly --output-len tokens (vLLM's ignore_eos; --no-ignore-eos for "
                                    "vendors)", group="endpoint")
    find_max_load: bool = option(False, "search request rate (Poisson; default) or concurrency (with --concurrency) "
                                        "for the highest load whose p99 TTFT and TPOT 95% bounds meet --slo-ttft-ms "
                                        "/ --slo-tpot-ms: grow x2 from --request-rate or --concurrency (default 1), "
                                        "then bisect; one row per level tried, the boundary marked (slo_boundary)",
                                 group="search")
    max_steps: int = option(SEARCH_MAX_STEPS, "--find-max-load: levels measured at most", metavar="N",
                            group="search", ge=1, le=100)
    search_timeout_s: float = option(3600.0, "--find-max-load: no level starts once the search has run S seconds "
                                             "minus the longest level so far", flags=("--search-timeout",),
                                     metavar="S", group="search", gt=0.0, allow_inf_nan=False)
    search_tolerance: float = option(SEARCH_TOLERANCE, "--find-max-load: stop once the lowest failing "
                                                                 "level is within this share above the highest "
                                                                 "passing one", metavar="F", group="search", gt=0.0,
                                     le=1.0)
    search_confirm: bool = option(True, "--find-max-load: measure the boundary's level again and keep it only if "
                                        "the requests of both runs pooled meet the targets (a level near the boundary "
                                        "passes or misses by luck); --no-search-confirm: once (the simulated server "
                                        "never confirms: it is deterministic)", group="search")
    server_timeout_s: float = option(900.0, "deadline for the local server's /health", flags=("--server-timeout",),
                                     metavar="S", gt=0.0, allow_inf_nan=False)

    @field_validator("request_rates")
    @classmethod
    def _rates(cls, v):
        if v is not None and (not v or any(not (r > 0) or math.isnan(r) for r in v)):
            raise ValueError("request rates must be positive numbers (inf: all at once)")
        return v

    @field_validator("concurrencies")
    @classmethod
    def _concurrencies(cls, v):
        if v is not None and (not v or any(c < 1 for c in v)):
            raise ValueError("concurrencies must be positive integers")
        return v

    @model_validator(mode="after")
    def _one_load_axis(self):
        if self.request_rates and self.concurrencies:
            raise ValueError("give request rates or concurrencies, not both")
        if self.time_scale != 1.0 and not self.replays_trace:
            raise ValueError("time_scale is an option of --dataset trace:FILE (it scales the recorded arrival times)")
        fmt = self.prompt_format or ("text" if self.api == "chat" else "tokens")
        if self.api == "chat" and fmt == "tokens":
            raise ValueError("--api chat sends text messages; use --prompt-format text")
        if self.find_max_load:
            search_problem = self._search_problem()
            if search_problem:
                raise ValueError(search_problem)
        return self

    def _search_problem(self) -> str | None:
        """Why --find-max-load cannot run with these options, or None."""
        if not self.slo.given:
            return "--find-max-load needs a latency target: give --slo-ttft-ms and/or --slo-tpot-ms"
        if len(self.request_rates or []) > 1 or len(self.concurrencies or []) > 1:
            return ("--find-max-load chooses the levels itself: give one --request-rate or --concurrency to start "
                    "from, not a list")
        if self.replays_trace:
            return "--find-max-load searches rate or concurrency; a trace replays its own arrival times"
        if self.request_rates and math.isinf(self.request_rates[0]):
            return "--find-max-load needs a finite --request-rate to start from"
        if self.repeats > 1:
            return "--find-max-load measures each level once; leave out --repeats"
        need = min_samples_for_bound(99)
        if self.num_prompts < need:
            return (f"--find-max-load judges the 95% bound of each level's p99, which needs at least "
                    f"{need} requests: give --num-prompts {need} or more")
        return None

    @property
    def text_prompts(self) -> bool:
        return (self.prompt_format or ("text" if self.api == "chat" else "tokens")) == "text"

    @property
    def levels(self) -> list[Level]:
        if self.request_rates:
            return [Level("rate", r) for r in self.request_rates]
        if not self.concurrencies and self.replays_trace:
            return [Level("trace", self.time_scale)]
        return [Level("concurrency", c) for c in (self.concurrencies or [DEFAULT_CONCURRENCY])]

    @property
    def replays_trace(self) -> bool:
        return self.dataset.partition(":")[0].strip().lower() == "trace"

    @property
    def slo(self) -> Slo:
        return Slo(ttft_ms=self.slo_ttft_ms, tpot_ms=self.slo_tpot_ms, attainment=self.slo_attainment)


def parse(fields: dict) -> ServeConfig:
    return validated(ServeConfig, fields, "bench serve")
