"""`bench serve --endpoint` without `--model`: the endpoint's own `/v1/models` names the model, and a stand-in
ResolvedModel carries what is known without an architecture (its name, and vLLM's `max_model_len` when the
server reports it). Prompts are then text and tokens are counted from the server's usage.

What is then unavailable is said once (UNAVAILABLE): token-id prompts, the model's architecture and config
hash, the analytic KV bytes per token and the roofline.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from bench.config.catalog import ResolvedModel
from bench.core.errors import BenchError
from bench.serve.security import API_PATHS, Endpoint, Secret, scrub

LIST_TIMEOUT_S = 15.0
NO_CONFIG = "endpoint"  # the stand-in's family: a model known only by the endpoint's name for it
UNAVAILABLE = ("no --model: prompts are text and tokens are counted from the server's usage; unavailable: "
               "token-id prompts, the architecture (architecture, config_sha), kv_bytes_per_token_analytic and "
               "the roofline")
# The stand-in's vocabulary only seeds the random words of text prompts (bench.workload.prompts.words_for).
WORD_VOCAB = 32_000
UNKNOWN_CONTEXT = 1 << 20  # no context length from the endpoint: the lengths are not checked against one


def models_url(endpoint: Endpoint) -> str:
    """https://host/v1/chat/completions -> https://host/v1/models."""
    path = endpoint.url.removesuffix(API_PATHS[endpoint.api])
    return path + "/models"


def parse_models(body: bytes) -> list[dict]:
    """OpenAI's list format, {"data": [{"id": ..., "max_model_len"?: ...}, ...]} -> the entries with an id."""
    try:
        data = json.loads(body).get("data")
    except (ValueError, AttributeError):
        return []
    return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)] if isinstance(data, list) else []


def list_models(endpoint: Endpoint, secret: Secret | None) -> list[dict]:
    """GET <base>/models with the key (to the endpoint only, no proxies, no redirects); BenchError on failure."""
    req = urllib.request.Request(models_url(endpoint), headers={"Authorization": f"Bearer {secret.reveal()}"}
                                 if secret is not None else {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    try:
        with opener.open(req, timeout=LIST_TIMEOUT_S) as resp:
            return parse_models(resp.read(1 << 20))
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise BenchError(scrub(f"--endpoint: could not list its models at {models_url(endpoint)} ({e}); give "
                               "--api-model NAME (or --model)", secret)) from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def choose(models: list[dict], api_model: str | None) -> dict:
    """--api-model when given (it must be listed, when the endpoint lists any), else the first model listed."""
    if api_model:
        for m in models:
            if m["id"] == api_model:
                return m
        if models:
            from bench.core.errors import close_names

            hint = close_names(api_model, [m["id"] for m in models])
            dym = f"; did you mean {hint[0]}?" if hint else ""
            raise BenchError(f"--api-model {api_model}: the endpoint does not list it{dym} (it lists "
                             f"{', '.join(m['id'] for m in models[:8])})")
        return {"id": api_model}
    if not models:
        raise BenchError("--endpoint: its /v1/models lists no model; give --api-model NAME (or --model)")
    return models[0]


def stand_in(entry: dict) -> ResolvedModel:
    """A model known only by the endpoint's name for it (and its context length, when listed)."""
    ctx = entry.get("max_model_len")
    return ResolvedModel(name=entry["id"], hub_id=None, family=NO_CONFIG, config_dir=Path(),
                         config={"vocab_size": WORD_VOCAB}, config_sha="", dtype="auto",
                         max_model_len=int(ctx) if isinstance(ctx, int) and ctx > 0 else UNKNOWN_CONTEXT,
                         tensor_parallel_size=1, weights_dir=None, tiny=False)


def is_stand_in(model: ResolvedModel) -> bool:
    return model.family == NO_CONFIG and not model.config_sha
