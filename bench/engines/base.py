"""The small interface every engine offers; the worker drives it the same way for all."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Protocol

from bench.config.run import RunConfig
from bench.measure.metrics import RequestResult
from bench.workload.source import Workload
from bench.workload.synthetic import Request


@dataclass
class KVCacheInfo:
    block_size: int | None = None  # tokens per block
    num_blocks: int | None = None
    capacity_tokens: int | None = None  # tokens the cache can hold at once, all sequences together
    allocated_bytes: int | None = None  # bytes of the KV tensors, summed over all workers
    # vLLM's KV-cache groups drawing on one block pool (sliding-window and full layers: 2); a block holds one group's
    # layers, so the pool holds blocks x block size / groups tokens of every layer
    groups: int | None = None

    @property
    def bytes_per_token(self) -> float | None:
        if self.allocated_bytes is None or not self.capacity_tokens:
            return None
        return self.allocated_bytes / self.capacity_tokens

    def to_dict(self) -> dict:
        return {**asdict(self), "bytes_per_token": self.bytes_per_token}


@dataclass
class EngineSpec:
    """What the worker hands an engine: the resolved case, where the model is, and the case's requests.

    It reaches the worker's process as JSON (to_json, written by the parent; from_json validates `run` back into a
    RunConfig there), so an engine reads typed options: `spec.run.max_num_seqs`."""

    run: RunConfig  # resolved (bench.config.run.resolve)
    load_path: str  # vLLM `model=`: a directory (config.json, maybe weights) or a hub id
    load_format: str  # "auto" or "dummy"
    model_config: dict  # the architecture's config.json
    # the case's requests, built once by the parent (bench.execution.case.engine_spec): the worker times exactly
    # these, and an engine that sizes a cache by the longest request reads them here (None: an engine made
    # outside a case)
    workload: Workload | None = None

    def to_json(self) -> str:
        return json.dumps({"run": self.run.model_dump(mode="json"), "load_path": self.load_path,
                           "load_format": self.load_format, "model_config": self.model_config,
                           "workload": self.workload.to_dict() if self.workload is not None else None})

    @classmethod
    def from_json(cls, text: str) -> EngineSpec:
        """The spec to_json wrote; `run` validated into a RunConfig (pydantic.ValidationError if it is not one)."""
        data = json.loads(text)
        return cls(run=RunConfig.model_validate(data["run"]), load_path=data["load_path"],
                   load_format=data["load_format"], model_config=data["model_config"],
                   workload=Workload.from_dict(data["workload"]) if data.get("workload") is not None else None)


def engine_env(env: Mapping[str, str], weights: str) -> dict[str, str]:
    """The environment of a process that runs an engine for bench (a case's worker, vLLM's server, the engine
    itself): the model hub never reached unless --weights hub, and no vLLM usage report (its reporter thread gathers
    the host's facts while the case runs: 4-5 CPU s of a tiny case's 28 on 2 cores, 2026-12-06, CPU taken from what
    is measured). What the user set is kept."""
    out = dict(env)
    if weights != "hub":
        out.setdefault("HF_HUB_OFFLINE", "1")
        out.setdefault("TRANSFORMERS_OFFLINE", "1")
    out.setdefault("VLLM_NO_USAGE_STATS", "1")
    return out


class Engine(Protocol):
    name: str

    def __init__(self, spec: EngineSpec) -> None: ...

    def check(self) -> None:
        """Raise BenchError for input this engine cannot run (before any heavy work)."""

    def start(self) -> None: ...

    def generate(self, requests: list[Request]) -> tuple[list[RequestResult], float]:
        """Run all requests; return per-request results (in order) and the timed wall seconds."""

    def kv_cache_info(self) -> KVCacheInfo: ...

    def info(self) -> dict:
        """Resolved facts to record: device, device_name, versions, effective engine options."""

    def stop(self) -> None: ...
