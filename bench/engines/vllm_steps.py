"""vLLM's per-step token counts, read from its own stat logger: the prefill/decode split of a measured run.

vLLM (0.32 and later) logs one line per engine step when the engine argument
`enable_logging_iteration_details` is on: its LoggingStatLogger (the default stat logger of the
offline LLM when stats are logged) writes "Iteration(i): C context requests, T context tokens,
G generation requests, N generation tokens, ..." through the logger `vllm.v1.metrics.loggers`, in the
process that calls LLM.generate. `StepRecorder` is a logging filter on that logger: it keeps each
step's (prefill tokens, decode tokens) and the time the step's output reached this process, and drops
the line so the log keeps its size. Context tokens are the prompt chunks scheduled in the step
(vLLM's compute_iteration_details: a request whose outputs are still 0), generation tokens the decodes.

The step's own `elapsed_ms` is not used: with a single-process executor the forward pass runs before
vLLM starts that clock. Step time is the gap between two steps' arrivals instead.
No vllm import here: the unit tests drive the filter with plain LogRecords.
"""

from __future__ import annotations

import logging
import time

from bench.cost.formulas import prefill_decode_seconds_by_steps

LOGGER = "vllm.v1.metrics.loggers"
ENGINE_ARG = "enable_logging_iteration_details"
METHOD = "steps-tokens"


class StepRecorder(logging.Filter):
    """Attach to vLLM's stat logger; `start()` before a timed generate, `split(elapsed_s)` after it."""

    def __init__(self) -> None:
        super().__init__()
        self.t0 = time.time()
        self.steps: list[tuple[float, int, int]] = []  # (arrival time, prefill tokens, decode tokens)

    def attach(self) -> "StepRecorder":
        log = logging.getLogger(LOGGER)
        log.addFilter(self)
        if not log.isEnabledFor(logging.INFO):  # the records must reach the filter
            log.setLevel(logging.INFO)
        return self

    def detach(self) -> None:
        logging.getLogger(LOGGER).removeFilter(self)

    def start(self) -> None:
        self.t0 = time.time()
        self.steps = []

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg if isinstance(record.msg, str) else ""
        if "Iteration(" not in msg:
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        # (prefix, index, context requests, context tokens, generation requests, generation tokens, elapsed ms,
        #  dummy mark, ...): vLLM 0.32's format arguments
        dummy = len(args) >= 8 and isinstance(args[7], str) and "dummy" in args[7]
        if len(args) >= 6 and not dummy and all(isinstance(a, int) for a in (args[3], args[5])):
            self.steps.append((record.created, args[3], args[5]))
        return False

    def step_seconds(self) -> list[tuple[float, int, int]]:
        """(step seconds, prefill tokens, decode tokens): each step from the previous one's arrival."""
        out, last = [], self.t0
        for t, p, d in sorted(self.steps):
            out.append((max(t - last, 0.0), p, d))
            last = t
        return out

    def split(self, elapsed_s: float) -> dict:
        """prefill_s / decode_s / split_method for the row, each step split by its token counts and
        scaled to the timed wall time; empty when vLLM reported no step (an older vLLM)."""
        steps = self.step_seconds()
        if not steps:
            return {}
        prefill_s, decode_s = prefill_decode_seconds_by_steps(steps, elapsed_s=elapsed_s)
        return {"prefill_s": prefill_s, "decode_s": decode_s, "split_method": METHOD, "steps": len(steps)}
