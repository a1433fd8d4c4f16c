"""ServeConfig: a `bench run` case (the model, the workload, the server's engine options) plus the
load levels, the SLO and the endpoint. Validated and resolved before anything starts: bad input is
one BenchError line and nothing is run or written.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import field_validator, model_validator

from bench.config import run as runconfig
from bench.config.catalog import ResolvedModel
from bench.config.files import validated
from bench.config.flags import Group, local_only_given, option, reworded
from bench.errors import BenchError
from bench.config.run import RunConfig
from bench.measure.streaming import Slo
from bench.serve.security import Endpoint, parse_endpoint

if TYPE_CHECKING:  # bench.serve.load brings aiohttp: not needed to build the parser
    from bench.serve.load import Level

DEFAULT_CONCURRENCY = 1


class ServeConfig(RunConfig):
    """RunConfig's fields keep their meaning (a few re-read for serving); `timeout_s` bounds each load level."""

    cli_groups: ClassVar[dict[str, Group]] = {
        "load": Group(f"load (one of; default --concurrency {DEFAULT_CONCURRENCY})", exclusive=True),
        "slo": Group("SLO (goodput, and which level is cheapest)"),
        "endpoint": Group("endpoint (instead of starting a server)"),
    }

    model: str | None = reworded(RunConfig, "model", "catalog name (see `bench models`) or a directory with a "
                                                     "config.json; with --endpoint it may be left out: the "
                                                     "endpoint's /v1/models names the model and prompts are text",
                                 default=None)
    engine: Literal["vllm"] = reworded(RunConfig, "engine", hidden=True)  # the server is vLLM's
    num_prompts: int = option(64, "requests per level", ge=1, le=runconfig.MAX_NUM_PROMPTS)
    max_num_seqs: int | None = reworded(RunConfig, "max_num_seqs", "the server's batch cap (vLLM max_num_seqs)",
                                        comma_list=False)
    timeout_s: float = reworded(RunConfig, "timeout_s", "time limit per level: nothing is sent after it, unfinished "
                                                        "requests fail", metavar="S")
    warmup: bool = reworded(RunConfig, "warmup", "no warm-up requests before each level")
    request_rates: list[float] | None = option(
        None, "a sweep of request rates", flags=("--rates",), metavar="R1,R2", group="load",
        single=("--request-rate", "R", "requests per second, Poisson arrivals (inf: all at once)"))
    concurrencies: list[int] | None = option(
        None, "a sweep of concurrencies", metavar="C1,C2", group="load",
        single=("--concurrency", "C", "C concurrent streams, each sending its next request when one ends"))
    time_scale: float = option(1.0, "--dataset trace:FILE: send each request at its recorded time x S (0.5: twice "
                                    "as fast); the default load of a trace", metavar="S", gt=0.0)
    burstiness: float = option(1.0, "rate levels: gamma-distributed gaps of shape B (1 Poisson, <1 burstier, >1 more "
                                    "even)", metavar="B", gt=0.0, allow_inf_nan=False)
    warmup_requests: int = option(2, "requests sent and not measured before each level", metavar="K", ge=0)
    slo_ttft_ms: float | None = option(None, "time to first token limit", metavar="X", group="slo", gt=0.0, allow_inf_nan=False)
    slo_tpot_ms: float | None = option(None, "time per output token limit", metavar="Y", group="slo", gt=0.0, allow_inf_nan=False)
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
        return self

    @property
    def text_prompts(self) -> bool:
        return (self.prompt_format or ("text" if self.api == "chat" else "tokens")) == "text"

    @property
    def levels(self) -> list[Level]:
        from bench.serve.load import Level

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


def _endpoint_model(cfg: ServeConfig, endpoint: Endpoint) -> tuple[ResolvedModel, ServeConfig]:
    """No --model: the endpoint's /v1/models names it (or --api-model); text prompts, counted by the usage."""
    from bench.serve import models_list
    from bench.serve.security import read_api_key

    secret = read_api_key(cfg.api_key_env)
    try:
        listed = models_list.list_models(endpoint, secret)
    except BenchError:
        if not cfg.api_model:
            raise
        listed = []
    model = models_list.stand_in(models_list.choose(listed, cfg.api_model))
    if cfg.prompt_format == "tokens":
        raise BenchError("--prompt-format tokens needs the model's vocabulary: give --model, or leave the format to "
                         "its default (text without --model)")
    return model, cfg.model_copy(update={"model": model.name, "api_model": model.name, "prompt_format": "text"})


def resolve(cfg: ServeConfig) -> tuple[ServeConfig, ResolvedModel, Endpoint | None]:
    """The model and its defaults (as bench run), then the serving checks. Raises BenchError."""
    if cfg.endpoint is not None and not cfg.endpoint.strip():  # '' started a local server instead
        raise BenchError("--endpoint is empty; give the server's URL (e.g. http://127.0.0.1:8000), or leave "
                         "--endpoint out to have bench start vLLM's server")
    if cfg.api_key_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", cfg.api_key_env):
        raise BenchError(f"--api-key-env {cfg.api_key_env!r}: not an environment variable name; give the name of "
                         "the variable holding the key, e.g. --api-key-env DEEPSEEK_API_KEY")
    if cfg.api_model is not None and not cfg.api_model.strip():
        raise BenchError("--api-model is empty; give the model name the endpoint serves, or leave it out")
    if cfg.endpoint:
        given = local_only_given(cfg)  # typed, even at its default value
        if given:
            flags = ", ".join(given)
            raise BenchError(f"{flags}: option(s) of the server bench starts; with --endpoint the server is "
                             "yours, configure it there")
    elif cfg.api_key_env:
        raise BenchError("--api-key-env is for --endpoint; the local server bench starts needs no key "
                         "(it listens on 127.0.0.1 only)")
    endpoint = parse_endpoint(cfg.endpoint, cfg.api, cfg.allow_insecure_http) if cfg.endpoint else None
    known = None
    if cfg.model is None:
        if endpoint is None:
            raise BenchError("--model is required to start a server; without one, measure a running server "
                             "with --endpoint URL (its /v1/models names the model)")
        known, cfg = _endpoint_model(cfg, endpoint)
    resolved, model = runconfig.resolve(cfg, model=known)
    if endpoint is not None and endpoint.api != cfg.api:
        resolved = resolved.model_copy(update={"api": endpoint.api})
        if endpoint.api == "chat" and not resolved.text_prompts:
            raise BenchError("--endpoint ends in /chat/completions, which takes text; add --prompt-format text "
                             "(or leave it out)")
    if endpoint is None and resolved.text_prompts and resolved.weights != "hub":
        from bench.config.catalog import choose_weights

        if choose_weights(model, resolved.weights).kind == "dummy":
            raise BenchError(f"--prompt-format text needs {model.name}'s tokenizer, and with dummy weights the server "
                             "has none; use token prompts (the default, /v1/completions) or real weights")
    return resolved, model, endpoint
