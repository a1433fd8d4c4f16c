"""What bench serve records of a server beside its rows: the local build's torch version and GPUs (nvidia-smi), an
endpoint's /version."""

from __future__ import annotations


def local_versions(device: str) -> dict:
    import importlib.metadata

    facts: dict = {}
    try:
        facts["torch_version"] = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        pass
    if device == "cuda":
        facts.update(nvidia_smi())
    return facts


def nvidia_smi() -> dict:
    import subprocess

    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
    except (OSError, subprocess.SubprocessError):
        return {}
    if not out:
        return {}
    name, _, driver = out[0].partition(",")
    return {"device_name": name.strip(), "driver_version": driver.strip(), "gpu_count": len(out)}


def version_of(origin: str) -> dict:
    """A loopback server's /version (vLLM answers it); nothing for others."""
    import json
    import urllib.request

    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"{origin}/version", timeout=5) as r:
            return {"vllm_version": json.loads(r.read()).get("version")}
    except (OSError, ValueError, AttributeError):
        return {}
