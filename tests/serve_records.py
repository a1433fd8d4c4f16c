"""Request records for the tests of a serving level's rules: a completed one, or a failed one of a class."""

from bench.measure.streaming import StreamedRequest


def request(success=True, cls="", status=200, mismatch="") -> StreamedRequest:
    """A completed request (8 output tokens, TTFT 0.1 s, E2E 0.5 s) or a failed one of class `cls`."""
    r = StreamedRequest(prompt_len=4, output_len=8 if success else 0, success=success, error_class=cls,
                        http_status=status, usage_mismatch=mismatch, error="" if success else f"{cls} error")
    if success:
        r.ttft_s, r.e2e_s, r.start_s, r.end_s = 0.1, 0.5, 0.0, 0.5
        r.finish()
    return r
