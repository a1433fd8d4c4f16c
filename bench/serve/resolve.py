"""`bench serve`'s configuration resolved: the model and its defaults (as `bench run`), the endpoint parsed, and,
without --model, the model an endpoint's /v1/models names. Raises BenchError before anything starts."""

from __future__ import annotations

import re

from bench.config import run as runconfig
from bench.config.catalog import ResolvedModel
from bench.config.engines import is_predicted
from bench.config.flags import local_only_given
from bench.config.serve import ServeConfig
from bench.core.errors import BenchError
from bench.serve.security import Endpoint, parse_endpoint


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
    if is_predicted(cfg.engine) and cfg.endpoint is not None:
        raise BenchError("--engine sim simulates a server on --hardware; it measures no endpoint: leave --endpoint "
                         "out, or use --engine vllm")
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
