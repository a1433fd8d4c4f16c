"""The pure pieces of bench serve's client: SSE parsing, Prometheus text, endpoint URLs and the API key."""

import pytest

from bench.core.errors import BenchError
from bench.serve import prometheus
from bench.serve.security import Secret, parse_endpoint, read_api_key, scrub_obj
from bench.serve.sse import SSEParser

STREAM = ('data: {"choices":[{"text":"a"}]}\n\n'
          ': keep-alive ping\n\n'
          'event: message\r\ndata: {"choices":[{"text":"\u00e9\u4e2d"}]}\r\n\r\n'
          'data: {"a":\ndata: 1}\n\n'
          'data: [DONE]\n\n').encode()


def payloads_in_pieces(data: bytes, size: int) -> list[str]:
    p = SSEParser()
    out = []
    for i in range(0, len(data), size):
        out += p.feed(data[i:i + size])
    return out + p.close()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_sse_events_survive_any_split(size):
    assert payloads_in_pieces(STREAM, size) == [
        '{"choices":[{"text":"a"}]}', '{"choices":[{"text":"\u00e9\u4e2d"}]}', '{"a":\n1}', "[DONE]"]


def test_sse_last_event_without_blank_line():
    p = SSEParser()
    assert p.feed(b'data: {"x": 1}\n\ndata: [DONE]') == ['{"x": 1}']
    assert p.close() == ["[DONE]"]


VLLM_METRICS = """# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
vllm:num_requests_waiting{engine="0",model_name="m"} 1.0
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25
vllm:num_preemptions_total{engine="0",model_name="m"} 2.0
vllm:num_preemptions_created{engine="0",model_name="m"} 1.79e+09
vllm:request_success_total{engine="0",finished_reason="length",model_name="m"} 7.0
vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} 1.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="m"} 4.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="a b}c"} 0.5
python_gc_objects_collected_total{generation="0"} 123.0
"""


def test_prometheus_parse_sums_label_sets_and_skips_buckets():
    s = prometheus.parse(VLLM_METRICS)
    assert s["vllm:num_requests_running"] == 3.0
    assert s["vllm:request_success_total"] == 8.0  # summed over finished_reason
    assert s["vllm:time_to_first_token_seconds_sum"] == 0.5  # a label value with a brace and a space
    assert not any(k.endswith(("_bucket", "_created")) for k in s) and "python_gc_objects_collected_total" not in s


def test_prometheus_summary_of_a_level():
    before = prometheus.parse(VLLM_METRICS)
    during = {**before, "vllm:kv_cache_usage_perc": 0.9, "vllm:num_requests_waiting": 5.0}
    after = {**before, "vllm:num_preemptions_total": 6.0, "vllm:request_success_total": 20.0,
             "vllm:kv_cache_usage_perc": 0.0}
    s = prometheus.summarise(before, after, [during])
    assert s["server_kv_cache_usage_max"] == 0.9 and s["server_waiting_max"] == 5.0
    assert s["server_preemptions"] == 4.0 and s["server_requests_finished"] == 12.0
    assert prometheus.summarise(None, None, [])["server_preemptions"] is None  # a vendor: no /metrics


@pytest.mark.parametrize("url,api,want_url,want_api", [
    ("http://127.0.0.1:8000", "completions", "http://127.0.0.1:8000/v1/completions", "completions"),
    ("http://localhost:8000/", "chat", "http://localhost:8000/v1/chat/completions", "chat"),
    ("https://api.deepseek.com/v1", "chat", "https://api.deepseek.com/v1/chat/completions", "chat"),
    ("https://ark.cn-beijing.volces.com/api/v3", "chat", "https://ark.cn-beijing.volces.com/api/v3/chat/completions",
     "chat"),
    ("https://h.example/v1/chat/completions", "completions", "https://h.example/v1/chat/completions", "chat"),
    ("http://[::1]:9000/v1/completions", "chat", "http://[::1]:9000/v1/completions", "completions"),
])
def test_endpoint_urls(url, api, want_url, want_api):
    e = parse_endpoint(url, api)
    assert (e.url, e.api) == (want_url, want_api)


@pytest.mark.parametrize("url,needle", [
    ("http://10.0.0.5:8000", "--allow-insecure-http"),
    ("http://my-server.local:8000", "--allow-insecure-http"),
    ("https://user:sk-123@api.example.com/v1", "credentials in the URL are refused"),
    ("https://api.example.com/v1?key=sk-123", "without a query string"),
    ("ftp://api.example.com", "expected an http(s) URL"),
])
def test_endpoint_refusals(url, needle):
    with pytest.raises(BenchError) as e:
        parse_endpoint(url, "completions")
    assert needle in str(e.value) and "sk-123" not in str(e.value)


def test_plain_http_to_another_host_with_the_flag():
    assert parse_endpoint("http://10.0.0.5:8000", "completions", allow_insecure_http=True).loopback is False


def test_api_key_only_from_the_named_variable(monkeypatch):
    monkeypatch.setenv("BENCH_TEST_KEY", "  sk-live-123  ")
    s = read_api_key("BENCH_TEST_KEY")
    assert s.reveal() == "sk-live-123"
    assert "sk-live" not in repr(s) and "sk-live" not in str(s) and "sk-live" not in f"{s}"
    assert read_api_key(None) is None
    monkeypatch.delenv("BENCH_TEST_KEY")
    with pytest.raises(BenchError, match="BENCH_TEST_KEY: that environment variable is not set"):
        read_api_key("BENCH_TEST_KEY")


def test_scrub_reaches_every_string():
    s = Secret("sk-abc")
    obj = {"error": "Bearer sk-abc rejected", "list": ["x sk-abc", 3, None], "nested": (1, "sk-abc")}
    assert "sk-abc" not in repr(scrub_obj(obj, s))
    assert list(scrub_obj({"sk-abc": "sk-abc"}, s)) == ["sk-abc"]  # keys are bench's names: values only
    assert scrub_obj(obj, None) is obj
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(s)
