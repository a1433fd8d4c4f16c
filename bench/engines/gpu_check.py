"""Does a case's tensor x pipeline parallel size fit the GPUs it can use? Checked before an engine starts.

mp (vLLM's default on one node): the GPUs this process sees (CUDA_VISIBLE_DEVICES applied).
ray (vLLM's Ray backend): the GPUs of the Ray cluster, which may span nodes; this process may see none of
them (`bench sweep --ray` runs such a case in a task that asked Ray for no GPU, so Ray set
CUDA_VISIBLE_DEVICES="", which vLLM reads as unset). With no Ray cluster running, vLLM starts one on this
machine, so this machine's GPUs are the limit.
"""

from __future__ import annotations

import signal

from bench.core.errors import BenchError


def hidden_gpus_problem(cuda_visible_devices: str | None) -> str | None:
    """For a process that sees no GPU: the one line blaming CUDA_VISIBLE_DEVICES when it is set, else None."""
    if cuda_visible_devices is None:
        return None
    return (f"CUDA_VISIBLE_DEVICES={cuda_visible_devices!r} hides every GPU from this process; unset it or name "
            "the GPUs to use")


def parallel_gpus_problem(world: int, backend: str | None, visible_gpus: int, cluster_gpus: float | None,
                          cuda_visible_devices: str | None) -> str | None:
    """Why `world` GPUs are not there for this backend, in one line, or None. Pure.

    `visible_gpus`: what this process sees; `cluster_gpus`: the running Ray cluster's GPUs (None: no cluster)."""
    if backend == "ray":
        if cluster_gpus is None:
            if world <= visible_gpus:
                return None
            return (f"tensor x pipeline parallel size {world} needs {world} GPUs; no Ray cluster is running and vLLM's "
                    f"Ray backend would start one on this machine, which has {visible_gpus}: start a cluster with "
                    "enough GPUs (`ray start --head` here, `ray start --address HEAD:6379` on each other node)")
        if world <= cluster_gpus:
            return None
        return (f"tensor x pipeline parallel size {world} needs {world} GPUs, the Ray cluster has {cluster_gpus:g}: "
                "add GPU nodes (`ray start --address HEAD:6379`) or lower --tensor-parallel-size/"
                "--pipeline-parallel-size")
    if visible_gpus == 0 and cuda_visible_devices is not None:
        return hidden_gpus_problem(cuda_visible_devices)
    if world <= visible_gpus:
        return None
    return (f"tensor x pipeline parallel size {world} needs {world} GPUs, this process sees {visible_gpus}; "
            "lower --tensor-parallel-size/--pipeline-parallel-size or, to span nodes, use "
            "--distributed-executor-backend ray on a Ray cluster")


def ray_cluster_gpus() -> float | None:
    """GPUs of the Ray cluster this machine belongs to (connecting to it, as vLLM then reuses the connection);
    None when no cluster is running. BenchError without the ray package."""
    try:
        import ray
    except ImportError:
        raise BenchError("--distributed-executor-backend ray needs the ray package, which is not installed here: "
                         "pip install 'bench[ray]' (on every node of the cluster)") from None
    if not ray.is_initialized():
        ours = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            ray.init(address="auto", log_to_driver=False, logging_level="warning")
        except ConnectionError:
            return None
        finally:  # Ray's own handlers would end the worker without stopping the engine's process group
            for sig, handler in ours.items():
                if handler is not None:
                    signal.signal(sig, handler)
    return float(ray.cluster_resources().get("GPU", 0))
