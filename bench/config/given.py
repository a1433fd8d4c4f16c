"""What another tool's results file may not say, given on the command line instead (docs/interop.md): the model,
the hardware.yaml card and the GPUs that served it. A value the file holds always wins (a --model or --gpus that
contradicts it is refused); a value taken from here is labelled in the row's `given_columns`, never as measured.

GivenGpus: bench cost, report, plan and import. GivenModel: bench cost, report and import (bench plan's own --model
names the model it plans for, and gives it to such files). GivenHardware: bench import (cost and report already
take --hardware for rows naming no card).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from bench.config.flags import Group, option
from bench.config.pricing import Card


class GivenOptions(BaseModel):
    cli_groups: ClassVar[dict[str, Group]] = {
        "given": Group("another tool's results file: what it does not say (docs/interop.md)")}


class GivenGpus(GivenOptions):
    gpus: int | None = option(None, "GPUs that served another tool's results file (vLLM bench, AIPerf, GuideLLM, "
                                    "Benchmark Report), where the file does not say; labelled given in its rows",
                              metavar="N", group="given", ge=1)


class GivenModel(GivenOptions):
    model: str | None = option(None, "catalog model of another tool's results file whose model is not in the "
                                     "catalog (`bench models`); labelled given in its rows", metavar="NAME",
                               group="given")


class GivenHardware(GivenOptions):
    hardware: Card | None = option(None, "hardware.yaml card of another tool's results file that names none; "
                                         "labelled given in its rows", metavar="NAME", group="given")
