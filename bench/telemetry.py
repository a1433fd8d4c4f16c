"""Peak memory while a case runs, sampled in a background thread.

GPU: device memory in use (NVML), the peak over the case; vLLM reserves
`gpu_memory_utilization` of the card, so this is what the engine takes.
CPU: the peak of the summed resident set size (RSS) of this process and all its
children (vLLM runs its engine core and workers as child processes). Shared pages
are counted once per process, so it overstates a little; it is what `top` would show.
"""

from __future__ import annotations

import threading


class PeakMemorySampler:
    def __init__(self, device: str, interval_s: float = 0.5) -> None:
        self.device = device
        self.interval_s = interval_s
        self.peak_bytes: int | None = None
        self.source = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._read = self._reader()

    def _reader(self):
        if self.device == "cuda":
            try:
                import pynvml

                pynvml.nvmlInit()
                handle = pynvml.nvmlDeviceGetHandleByIndex(0)
                self.source = "nvml"
                return lambda: int(pynvml.nvmlDeviceGetMemoryInfo(handle).used)
            except Exception:  # no NVML binding or driver: fall back to torch's view of this process
                try:
                    import torch

                    self.source = "torch"
                    return lambda: (lambda free, total: int(total - free))(*torch.cuda.mem_get_info())
                except Exception:
                    return None
        import psutil

        me = psutil.Process()
        self.source = "rss"

        def tree_rss() -> int:
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:  # a child that just exited
                    pass
            return total

        return tree_rss

    def sample(self) -> None:
        if self._read is None:
            return
        v = self._read()
        if self.peak_bytes is None or v > self.peak_bytes:
            self.peak_bytes = v

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception:  # a failed sample must never take the benchmark down
                pass

    def start(self) -> "PeakMemorySampler":
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="bench-memory", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> int | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.sample()
        except Exception:
            pass
        return self.peak_bytes
