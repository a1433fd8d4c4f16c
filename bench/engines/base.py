"""The small interface every engine offers; the worker drives it the same way for all."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

from bench.measure.metrics import RequestResult
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
    """What the worker hands an engine: the resolved case plus where the model is."""

    run: dict  # RunConfig.model_dump() after resolve()
    load_path: str  # vLLM `model=`: a directory (config.json, maybe weights) or a hub id
    load_format: str  # "auto" or "dummy"
    model_config: dict  # the architecture's config.json


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
