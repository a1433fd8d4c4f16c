"""bench.measure.environment: the machine's facts every record carries. No engine."""

from __future__ import annotations

from pathlib import Path

from bench.measure import environment


def test_autogroup_scheduling_is_read_from_the_kernel(monkeypatch, tmp_path):
    """/proc/sys/kernel/sched_autogroup_enabled 1 -> True, 0 -> False, absent -> None; host_env carries it."""
    real = Path.read_text
    answer = {"value": "1\n"}

    def read_text(self, *a, **k):
        if str(self) == "/proc/sys/kernel/sched_autogroup_enabled":
            if answer["value"] is None:
                raise FileNotFoundError(self)
            return answer["value"]
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", read_text)
    assert environment.sched_autogroup() is True and environment.host_env()["sched_autogroup"] is True
    answer["value"] = "0\n"
    assert environment.sched_autogroup() is False
    answer["value"] = None
    assert environment.sched_autogroup() is None
