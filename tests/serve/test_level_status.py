"""bench.serve.verdict, pure: a level's status by the stated rule, in its order."""

from bench.measure.streaming import compute_serve_metrics
from bench.serve.load import LevelResult
from bench.serve.verdict import level_status
from serve_records import request as _req


def _level(records, unsent=0, cut=False, warmup=(), warmup_failed=False) -> LevelResult:
    return LevelResult(records=list(records), warmup=list(warmup), duration_s=1.0, unsent=unsent, cut=cut,
                       warmup_failed=warmup_failed)


def _status(res: LevelResult, rule=0.01, cause=None) -> tuple[str, str]:
    return level_status(res, compute_serve_metrics(res.records, res.duration_s, unsent=res.unsent), rule, 60.0, cause)


def test_the_status_rule_in_its_order():
    ok = [_req() for _ in range(99)]
    one_of_100 = ok + [_req(False, "http", 500)]  # 1% failed: at the rule, not above it
    assert _status(_level(one_of_100)) == ("ok", "")
    two_of_100 = ok[:98] + [_req(False, "http", 500)] * 2  # 2% > 1%
    assert _status(_level(two_of_100))[0] == "failed"
    assert _status(_level(two_of_100), rule=0.02) == ("ok", "")
    # a time limit with cancellations only: timeout, the cancelled ones are not the server's failures
    cut = _level(ok[:10] + [_req(False, "cancelled", None)] * 2, unsent=5, cut=True)
    status, error = _status(cut)
    assert status == "timeout" and error.endswith("2 of 12 requests sent failed (2 cancelled; most often: cancelled "
                                                  "error (2)); 5 never sent")
    # above the rule and cut: failed comes first
    assert _status(_level(two_of_100, cut=True))[0] == "failed"
    assert _status(_level([_req(False, "stream")] * 3)) == (
        "failed", "no request completed: 3 of 3 requests sent failed (3 stream; most often: stream error (3))")
    warm = _level([], unsent=10, warmup=[_req(False, "http", 500)] * 2, warmup_failed=True)
    assert _status(warm)[1].startswith("the warm-up failed (2 of 2 warm-up requests failed (2 http;")
    # the local server died: its root cause first, whatever else
    assert _status(_level(ok), cause="CUDA out of memory") == ("oom", "CUDA out of memory")
