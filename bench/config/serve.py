"""ServeConfig: a `bench run` case (the model, the workload, the server's engine options) plus the
load levels, the SLO and the endpoint. Validated and resolved before anything starts: bad input is
one BenchError line and nothing is run or written.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from bench.config import run as runconfig
from bench.config.catalog import ResolvedModel
from bench.config.files import one_line
from bench.errors import BenchError
from bench.config.run import RunConfig
from bench.serve.load import Level
from bench.measure.streaming import Slo
from bench.serve.security import Endpoint, parse_endpoint

# Server options that only apply to the server bench starts itself (not to --endpoint), with their defaults.
LOCAL_ONLY = {
    "max_num_seqs": None, "cpu_kv_cache_gb": None, "enforce_eager": None, "weights": "auto",
    "kv_cache_dtype": "auto", "gpu_memory_utilization": 0.9, "distributed_executor_backend": None,
    "device": "auto", "dtype": None, "max_model_len": None,
}
DEFAULT_CONCURRENCY = 1


class ServeConfig(RunConfig):
    """RunConfig's fields keep their meaning; `timeout_s` bounds each load level."""

    num_prompts: int = Field(64, ge=1)
    request_rates: list[float] | None = None  # requests per second; inf: all at once
    concurrencies: list[int] | None = None
    burstiness: float = Field(1.0, gt=0.0)  # 1: Poisson; <1 burstier; >1 more even; inf: constant gaps
    warmup_requests: int = Field(2, ge=0)
    slo_ttft_ms: float | None = Field(None, gt=0.0)
    slo_tpot_ms: float | None = Field(None, gt=0.0)
    slo_attainment: float = Field(0.9, gt=0.0, le=1.0)
    endpoint: str | None = None
    api_model: str | None = None
    api_key_env: str | None = None  # the NAME of the environment variable holding the key
    allow_insecure_http: bool = False
    api: Literal["completions", "chat"] = "completions"
    prompt_format: Literal["tokens", "text"] | None = None  # default: tokens for completions, text for chat
    ignore_eos: bool = True
    server_timeout_s: float = Field(900.0, gt=0.0)  # deadline for the local server's /health

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
        fmt = self.prompt_format or ("text" if self.api == "chat" else "tokens")
        if self.api == "chat" and fmt == "tokens":
            raise ValueError("--api chat sends text messages; use --prompt-format text")
        return self

    @property
    def text_prompts(self) -> bool:
        return (self.prompt_format or ("text" if self.api == "chat" else "tokens")) == "text"

    @property
    def levels(self) -> list[Level]:
        if self.request_rates:
            return [Level("rate", r) for r in self.request_rates]
        return [Level("concurrency", c) for c in (self.concurrencies or [DEFAULT_CONCURRENCY])]

    @property
    def slo(self) -> Slo:
        return Slo(ttft_ms=self.slo_ttft_ms, tpot_ms=self.slo_tpot_ms, attainment=self.slo_attainment)


def parse(fields: dict) -> ServeConfig:
    try:
        return ServeConfig.model_validate(fields)
    except ValidationError as e:
        raise BenchError(one_line(e, "bench serve")) from None


def resolve(cfg: ServeConfig) -> tuple[ServeConfig, ResolvedModel, Endpoint | None]:
    """The model and its defaults (as bench run), then the serving checks. Raises BenchError."""
    if cfg.endpoint:
        given = [k for k, default in LOCAL_ONLY.items() if getattr(cfg, k) != default]
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise BenchError(f"{flags}: option(s) of the server bench starts; with --endpoint the server is "
                             "yours, configure it there")
    elif cfg.api_key_env:
        raise BenchError("--api-key-env is for --endpoint; the local server bench starts needs no key "
                         "(it listens on 127.0.0.1 only)")
    resolved, model = runconfig.resolve(cfg)
    endpoint = parse_endpoint(cfg.endpoint, cfg.api, cfg.allow_insecure_http) if cfg.endpoint else None
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
