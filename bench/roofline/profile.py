"""Calibration profiles: fitted efficiency parameters with their name, band and provenance, as YAML.

Two kinds. The published fit (reference/published_fit.yaml, written by scripts/validate_prediction.py
--write-profile) holds the shared parameters, each engine generation's overheads and the band from its
leave-one-out errors. A user profile (`bench calibrate ... --out profile.yaml`) holds the parameters fitted
to one machine's own rows (its hardware named) and the band from the spread of that fit. Every
prediction names the profile it used (`prediction_calibration`).

    name: published-fit-3          # what prediction_calibration says
    kind: published | user
    hardware: null | NAME          # user profiles: the machine the rows ran on
    fitted_on: YYYY-MM-DD
    rows: N
    parameters: {bandwidth_fraction: ..., ...}            # bench.roofline.efficiency.Efficiency
    generations: {vllm-v1: {step_overhead_s: ..., sequence_overhead_s: ...}, ...}
    moe_kernel_eras: {moe-2024: {moe_expert_overhead_bytes: ...}, moe-2025: {...}}   # optional
    band: {low: 0.8, high: 1.2}    # measured / predicted speed, 10th and 90th percentile of held-out rows
    default_generation: vllm-v1    # what a prediction for `vllm` without a version assumes
    serving: {stream_token_s: ..., stream_step_s: ..., stream_request_s: ..., request_latency_s: ...,
             shares_cores: null, source: ...}
                                   # optional: the serving path's host cost (bench.roofline.servingpath), seconds;
                                   # absent: 0, "assumed" (profiles written before it read unchanged)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from bench import REPO_ROOT
from bench.config.engines import modelled_engine
from bench.core.errors import BenchError
from bench.roofline import engine_profiles, servingpath
from bench.roofline.efficiency import PARAMETERS, Efficiency
from bench.roofline.servingpath import ServingPath

PUBLISHED_FILE = REPO_ROOT / "reference" / "published_fit.yaml"


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str
    parameters: Efficiency
    generations: dict[str, dict[str, float]] = field(default_factory=dict)
    moe_eras: dict[str, dict[str, float]] = field(default_factory=dict)  # engine_profiles.moe_kernel_era -> values
    band_low: float = 1.0
    band_high: float = 1.0
    hardware: str | None = None
    fitted_on: str = ""
    rows: int = 0
    default_generation: str = "vllm-v1"
    serving: ServingPath = ServingPath()

    def efficiency_for(self, engine: str | None = None, version: str | None = None) -> Efficiency:
        """The parameters for an engine: its generation's overheads and its MoE-kernel era's slice loss, where the
        profile has them (no engine: the default generation, the current MoE era)."""
        gen = engine_profiles.generation(engine or "vllm", version) if engine else self.default_generation
        if engine and modelled_engine(engine.lower()) == "vllm" and not engine_profiles.parse_version(version):
            gen = self.default_generation
        era = engine_profiles.moe_kernel_era(engine or "", version)
        return self.parameters.with_values(**self.generations.get(gen, {}), **self.moe_eras.get(era, {}))

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "hardware": self.hardware, "fitted_on": self.fitted_on,
                "rows": self.rows, "default_generation": self.default_generation,
                "parameters": {k: float(f"{v:.6g}") for k, v in self.parameters.as_dict().items()},
                "generations": {g: {k: float(f"{v:.6g}") for k, v in d.items()} for g, d in self.generations.items()},
                **({"moe_kernel_eras": {g: {k: float(f"{v:.6g}") for k, v in d.items()}
                                        for g, d in self.moe_eras.items()}} if self.moe_eras else {}),
                "band": {"low": float(f"{self.band_low:.4g}"), "high": float(f"{self.band_high:.4g}")},
                **({"serving": self.serving.as_dict()} if self.serving != ServingPath() else {})}


def save(profile: Profile, path: Path) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(profile.as_dict(), sort_keys=False), encoding="utf-8")
    tmp.replace(path)


def load(path: Path | str) -> Profile:
    """Read a profile; BenchError naming the problem and the fix."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"--profile {path}: no such file (write one with `bench calibrate RESULTS.csv --out {path}`)") from None
    except yaml.YAMLError as e:
        raise BenchError(f"--profile {path}: not valid YAML ({str(e).splitlines()[0]})") from None
    try:
        if not isinstance(raw, dict):
            raise ValueError("not a mapping")
        params = raw.get("parameters") or {}
        unknown = sorted(set(params) - set(PARAMETERS))
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]} (known: {', '.join(PARAMETERS)})")
        gens = raw.get("generations") or {}
        for g, d in gens.items():
            if g not in engine_profiles.GENERATIONS:
                raise ValueError(f"unknown engine generation {g} (known: {', '.join(engine_profiles.GENERATIONS)})")
            Efficiency(**{**params, **d})  # range check
        eras = raw.get("moe_kernel_eras") or {}
        for g, d in eras.items():
            if g not in engine_profiles.MOE_ERAS:
                raise ValueError(f"unknown MoE-kernel era {g} (known: {', '.join(engine_profiles.MOE_ERAS)})")
            if set(d) - {"moe_expert_overhead_bytes"}:
                raise ValueError(f"MoE-kernel era {g}: only moe_expert_overhead_bytes is per era")
            Efficiency(**{**params, **d})  # range check
        band = raw.get("band") or {}
        return Profile(name=str(raw["name"]), kind=str(raw.get("kind", "user")), parameters=Efficiency(**params),
                       generations={g: dict(d) for g, d in gens.items()},
                       moe_eras={g: dict(d) for g, d in eras.items()}, band_low=float(band.get("low", 1.0)),
                       band_high=float(band.get("high", 1.0)), hardware=raw.get("hardware"),
                       fitted_on=str(raw.get("fitted_on", "")), rows=int(raw.get("rows", 0)),
                       default_generation=str(raw.get("default_generation", "vllm-v1")),
                       serving=servingpath.from_dict(raw["serving"]) if raw.get("serving") else ServingPath())
    except (KeyError, ValueError, TypeError) as e:
        what = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        raise BenchError(f"--profile {path}: {what} (see bench/roofline/profile.py for the format)") from None


def published() -> Profile | None:
    """The published fit shipped with bench, or None when it has not been written. Read once per version of the
    file (its modification time and size): a plan asks for it for every predicted row it serves."""
    try:
        st = PUBLISHED_FILE.stat()
    except FileNotFoundError:
        return None
    return _published(str(PUBLISHED_FILE), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=2)
def _published(path: str, mtime_ns: int, size: int) -> Profile:
    return load(path)
