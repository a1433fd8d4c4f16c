"""The results schema, declared once: every CSV column with its group, unit, which way is better,
which writers fill it, where its value comes from, the kind of value its cell holds, the schema version it
arrived in, and one line of meaning.

Everything else derives from these declarations: the CSV's column order (results.store.COLUMNS), the schema
version (the newest column's `since`), the columns an older file gains on its upgrade (results.upgrade), the
typed read-back of every cell (results.cells), the row builders' completeness check (execution.record),
compare's metric directions, the report's labels and the generated parts of docs/schema.md
(`python -m bench.results.schema_doc --write` rewrites them; a test keeps the page equal to them).

Adding a column: declare it at the end of DECLARED with since=SCHEMA_VERSION + 1 (the version follows).
A metric both writers share is computed in bench.measure.metrics (both writers' metrics come from
compute_metrics) and declared with source "metrics".
"""

from __future__ import annotations

from dataclasses import dataclass

RUN, SERVE = "run", "serve"  # bench run / bench sweep: one offline case; bench serve: one load level
BOTH = (RUN, SERVE)
# bench import, and cost/plan/report/compare reading another tool's file: a row of vLLM bench, AIPerf, GuideLLM or a
# Benchmark Report (bench.interop). It fills its source columns, and any other column the file holds (docs/interop.md).
IMPORT = "import"
WRITERS = (RUN, SERVE, IMPORT)
HIGHER, LOWER = 1, -1  # which way is better

# Where a writer takes the value from. "" : the record builder sets it by name; the others are copied
# by name from one dict the writer computed (so a declared column needs no edit of the builder).
SOURCES = ("", "metrics", "server", "cost", "energy", "roofline", "workload", "host")
# When a writer leaves the cell empty. always: never (failed rows included); ok: never on an ok row;
# optional: when the fact does not apply (no --hardware, a CPU, another engine...), said in `meaning`.
FILLED = ("always", "ok", "optional")
# What a cell holds, read back (bench.results.cells): text as written; a number (float); an int (a count or a
# setting: a whole number as int, a mean with a fraction as float); a bool (True/False as Python writes it).
# Default: a number when the column has a unit, else text.
KINDS = ("text", "number", "int", "bool")


@dataclass(frozen=True)
class Column:
    name: str
    group: str
    unit: str  # "" for names, labels and flags
    meaning: str
    writers: tuple[str, ...] = BOTH
    better: int | None = None  # HIGHER, LOWER, or None (not a figure of merit)
    source: str = ""
    filled: str = "ok"
    label: str = ""  # how charts and tables name it; default: the meaning's first clause
    kind: str = ""  # one of KINDS; "" : by the unit (number with a unit, else text)
    since: int = 1  # the schema version the column arrived in
    inf: bool = False  # "inf" is a value (an unbounded request rate); elsewhere an infinite cell reads as empty

    def __post_init__(self):
        if not self.kind:
            object.__setattr__(self, "kind", "number" if self.unit else "text")

    @property
    def numeric(self) -> bool:
        """Its cell holds a number, or nothing."""
        return self.kind in ("number", "int")

    @property
    def title(self) -> str:
        return self.label or self.name


def _c(name, group, unit, meaning, writers=BOTH, better=None, source="", filled="ok", label="", *, kind="", since=1,
       inf=False):
    return Column(name, group, unit, meaning, tuple(writers), better, source, filled, label, kind, since, inf)


_R, _S, _I = (RUN,), (SERVE,), (IMPORT,)
M = "metrics"
W = "workload"

# The CSV's column order: version 1's columns in their order, each later version's at the end (`since`).
DECLARED: tuple[Column, ...] = (
    _c("schema_version", "identity", "", "the schema version the row was written in (the newest column's version); "
       "files of older versions are read through an upgrade (docs/schema.md)", filled="always"),
    _c("run_id", "identity", "", "YYYYMMDDTHHMMSSZ-xxxxxx: the row's JSON is <csv folder>/<run_id>.json",
       filled="always"),
    _c("timestamp", "identity", "", "UTC ISO-8601 start time of the case or level", filled="always"),
    _c("model", "model", "", "catalog name (models.yaml) or the directory given", filled="always"),
    _c("engine", "engine", "", "vllm, sim, hf, hf-cb (bench run); vllm-server, openai-endpoint or sim (the simulated "
       "server, a prediction) (bench serve)",
       filled="always"),
    _c("device", "engine", "", "cuda, cpu, or sim (a prediction)", filled="ok"),
    _c("device_name", "engine", "", "the GPU's name, the CPU model, or the hardware the sim predicts",
       filled="optional"),
    _c("weights", "model", "", "real or dummy (random weights from the bundled config.json)", filled="always"),
    _c("dtype", "engine", "", "weight and activation dtype, resolved", filled="always"),
    _c("kv_cache_dtype", "engine", "", "KV-cache dtype (auto: the model's)", filled="always"),
    _c("tensor_parallel_size", "engine", "", "GPUs per pipeline stage", filled="always", kind="int"),
    _c("input_len", "workload", "tokens", "prompt tokens per request asked (mean, with a distribution or a dataset)",
       filled="always", kind="int"),
    _c("output_len", "workload", "tokens", "output tokens per request asked (exact with ignore_eos; mean with a "
       "dataset)",
       filled="always", kind="int"),
    _c("num_prompts", "workload", "", "requests in the timed run or the level", filled="always", kind="int"),
    _c("max_num_seqs", "engine", "", "batch-size cap as the engine resolved it (serve: as asked)", filled="optional",
       label="batch size cap (max_num_seqs)", kind="int"),
    _c("input_tokens", "throughput", "tokens", "prompt tokens of the requests that completed", source=M, kind="int"),
    _c("output_tokens", "throughput", "tokens", "output tokens generated by the requests that completed", source=M,
       kind="int"),
    _c("elapsed_s", "throughput", "s", "wall time of the timed generate (offline) or the level (serve)", BOTH, LOWER,
       source=M),
    _c("requests_per_s", "throughput", "req/s", "completed requests / elapsed_s", BOTH, HIGHER, M,
       label="requests/s"),
    _c("input_tok_s", "throughput", "tok/s", "input_tokens / elapsed_s", BOTH, HIGHER, M, label="input tokens/s"),
    _c("output_tok_s", "throughput", "tok/s", "output_tokens / elapsed_s", BOTH, HIGHER, M,
       label="output tokens/s"),
    _c("total_tok_s", "throughput", "tok/s", "(input_tokens + output_tokens) / elapsed_s", BOTH, HIGHER, M,
       label="total tokens/s"),
    _c("ttft_p50_ms", "latency", "ms", "time to first token, median (offline: from submission, all at once, so it "
       "includes waiting for a batch slot)", BOTH, LOWER, M, label="TTFT p50 (ms)"),
    _c("ttft_p99_ms", "latency", "ms", "time to first token, 99th percentile", BOTH, LOWER, M,
       label="TTFT p99 (ms)"),
    _c("tpot_p50_ms", "latency", "ms", "time per output token after the first, median over requests: "
       "(last - first token) / (tokens - 1)", BOTH, LOWER, M, label="TPOT p50 (ms)"),
    _c("tpot_p99_ms", "latency", "ms", "time per output token, 99th percentile over requests", BOTH, LOWER, M,
       label="TPOT p99 (ms)"),
    _c("kv_block_size", "kv cache", "tokens", "tokens per KV-cache block", _R, filled="optional", kind="int"),
    _c("kv_num_blocks", "kv cache", "blocks", "KV-cache blocks allocated", _R, HIGHER, filled="optional", kind="int"),
    _c("kv_capacity_tokens", "kv cache", "tokens", "tokens the KV cache holds at once (serve: from the local "
       "server's log)", BOTH, HIGHER, filled="optional", label="KV cache capacity (tokens)", kind="int"),
    _c("kv_bytes_per_token", "kv cache", "B/token", "kv_cache_gb x 1e9 / kv_capacity_tokens: one token of context "
       "as allocated", _R, LOWER, filled="optional", label="KV bytes per token"),
    _c("kv_bytes_per_token_analytic", "kv cache", "B/token", "from the config: MHA/GQA layers x 2 x kv_heads x "
       "head_dim x dtype bytes; MLA layers x (kv_lora_rank + qk_rope_head_dim) x dtype bytes; over TP ranks",
       BOTH, LOWER, filled="optional", label="KV bytes per token (analytic)"),
    _c("peak_memory_gb", "memory", "GB", "GPU: device memory in use, peak (NVML); CPU: peak summed RSS of the "
       "engine's processes; sim: what the GPUs would hold", BOTH, LOWER, filled="optional",
       label="peak memory (GB)"),
    _c("vllm_version", "environment", "", "vLLM's version (vLLM engines only; see engine_version)",
       filled="optional"),
    _c("torch_version", "environment", "", "torch's version where the engine loaded torch", filled="optional"),
    _c("git_sha", "environment", "", "bench's commit ('-dirty' with uncommitted changes; empty outside git)",
       filled="always"),
    _c("config_hash", "identity", "", "a stable key of the resolved case (options + architecture): same case, "
       "same key; --resume skips keys already ok", filled="always"),
    _c("status", "status", "", "ok, failed, oom, timeout or interrupted", filled="always"),
    _c("error", "status", "", "the innermost error (engine log's root cause); empty when ok", filled="always"),
    _c("hub_id", "model", "", "Hugging Face id from models.yaml", filled="optional"),
    _c("architecture", "model", "", "architectures[0] of the config.json run", filled="always"),
    _c("max_model_len", "engine", "tokens", "context length", filled="always", kind="int"),
    _c("pipeline_parallel_size", "engine", "", "pipeline stages", filled="always", kind="int"),
    _c("length_dist", "workload", "", "fixed, uniform or normal lengths", filled="always"),
    _c("seed", "workload", "", "workload and engine seed", filled="always", kind="int"),
    _c("ttft_mean_ms", "latency", "ms", "time to first token, mean", BOTH, LOWER, M, label="TTFT mean (ms)"),
    _c("tpot_mean_ms", "latency", "ms", "time per output token, mean over requests", BOTH, LOWER, M,
       label="TPOT mean (ms)"),
    _c("e2e_p50_ms", "latency", "ms", "request latency (TTFT + decode), median", BOTH, LOWER, M,
       label="E2E p50 (ms)"),
    _c("e2e_p99_ms", "latency", "ms", "request latency, 99th percentile", BOTH, LOWER, M, label="E2E p99 (ms)"),
    _c("completed", "throughput", "requests", "requests that succeeded", BOTH, HIGHER, M, kind="int"),
    _c("failed", "throughput", "requests", "requests that failed", BOTH, LOWER, M, kind="int"),
    _c("kv_cache_gb", "kv cache", "GB", "bytes of the KV-cache tensors over all workers, read from the workers",
       _R, HIGHER, filled="optional", label="KV cache (GB)"),
    _c("peak_memory_source", "memory", "", "nvml, rss or predicted", filled="optional"),
    _c("engine_start_s", "engine", "s", "engine construction (serve: until the server is healthy), not timed",
       BOTH, LOWER, filled="optional", label="engine start (s)"),
    _c("warmup_s", "engine", "s", "the warm-up batch, not timed", _R, LOWER),
    _c("gpu_count", "environment", "", "GPUs the case's process sees (NVML, through CUDA_VISIBLE_DEVICES); another "
       "tool's row: the GPUs that served it (the file's, or --gpus), which price it", filled="optional", kind="int"),
    _c("driver_version", "environment", "", "NVIDIA driver", filled="optional"),
    _c("cpu_model", "environment", "", "the host's CPU model", filled="always"),
    _c("hostname", "environment", "", "the host that ran it", filled="always"),
    _c("config_sha", "model", "", "sha256 of the config.json run", filled="always"),
    # cost: `--hardware NAME` prices the row (bench.cost.pricing.run_cost_columns); docs/cost.md
    _c("hardware", "cost", "", "the hardware.yaml entry that prices the row (and the sim predicts)",
       source="cost", filled="optional"),
    _c("cost_basis", "cost", "", "rental, owned, tco or given", source="cost", filled="optional"),
    _c("gpu_cny_per_hour", "cost", "CNY/h", "price of one GPU-hour on the basis", BOTH, LOWER, "cost", "optional"),
    _c("fx_cny_per_usd", "cost", "CNY/USD", "exchange rate used", source="cost", filled="optional"),
    _c("cost_mix", "cost", "", "input:output token mix of the blend, e.g. 3:1", source="cost", filled="optional"),
    _c("cny_per_m_input", "cost", "CNY/M tokens", "cost of a million input tokens (prefill time)", BOTH, LOWER,
       "cost", "optional", "CNY per M input tokens"),
    _c("cny_per_m_output", "cost", "CNY/M tokens", "cost of a million output tokens (decode time)", BOTH, LOWER,
       "cost", "optional", "CNY per M output tokens"),
    _c("cny_per_m_blended", "cost", "CNY/M tokens", "input and output cost blended at cost_mix", BOTH, LOWER,
       "cost", "optional", "CNY per M tokens (blended)"),
    _c("cny_per_m_total", "cost", "CNY/M tokens", "cost of a million tokens of any kind (hour price / total_tok_s)",
       BOTH, LOWER, "cost", "optional", "CNY per M tokens (any)"),
    _c("tokens_per_cny", "cost", "tokens/CNY", "tokens one CNY buys, any token at the run's own input:output mix "
       "(1e6 / cny_per_m_total); reports print tokens_per_cny_blended", BOTH, HIGHER, "cost", "optional",
       "tokens per CNY (any token)"),
    # roofline: the physical limit for this model, GPU and workload (bench.roofline.predict); docs/roofline.md
    _c("roofline_output_tok_s", "roofline", "tok/s", "the roofline's output tok/s for this workload (GPU rows with "
       "known hardware)", _R, HIGHER, "roofline", "optional", "roofline output tokens/s"),
    _c("efficiency", "roofline", "fraction", "output_tok_s / roofline_output_tok_s", _R, HIGHER, "roofline", "optional",
       "efficiency (measured / roofline)"),
    # bench serve: one row per load level; docs/serve.md
    _c("sweep_id", "serve", "", "the bench serve invocation the level belongs to", _S, filled="always"),
    _c("endpoint", "serve", "", "where requests went; empty: the server bench started", _S, filled="optional"),
    _c("api_model", "serve", "", "model name sent in each request", _S, filled="always"),
    _c("load_mode", "load", "", "rate (open loop), concurrency (closed loop) or trace (a trace's recorded arrival "
       "times x --time-scale)", _S, filled="always"),
    _c("request_rate", "load", "req/s", "requests per second asked (inf: all at once)", _S, filled="optional",
       label="request rate (requests/s)", inf=True),
    _c("burstiness", "load", "", "gamma shape of arrival gaps (1: Poisson)", _S, filled="optional", kind="number"),
    _c("concurrency", "load", "requests", "concurrent streams", _S, filled="optional", label="concurrent requests"),
    _c("ttft_p90_ms", "latency", "ms", "time to first token, 90th percentile", BOTH, LOWER, M,
       label="TTFT p90 (ms)"),
    _c("itl_mean_ms", "latency", "ms", "inter-token latency, mean over all gaps", _S, LOWER, M,
       label="ITL mean (ms)"),
    _c("itl_p50_ms", "latency", "ms", "inter-token latency, median", _S, LOWER, M, label="ITL p50 (ms)"),
    _c("itl_p99_ms", "latency", "ms", "inter-token latency, 99th percentile", _S, LOWER, M, label="ITL p99 (ms)"),
    _c("e2e_mean_ms", "latency", "ms", "request latency, mean", BOTH, LOWER, M, label="E2E mean (ms)"),
    _c("goodput_req_s", "slo", "req/s", "completed requests within both SLO limits / elapsed_s", _S, HIGHER, M,
       "optional", "goodput (requests/s)"),
    _c("slo_ttft_ms", "slo", "ms", "the SLO's TTFT limit", _S, filled="optional"),
    _c("slo_tpot_ms", "slo", "ms", "the SLO's TPOT limit", _S, filled="optional"),
    _c("slo_attainment", "slo", "fraction", "share of the level's requests within the SLO", _S, HIGHER, M, "optional"),
    _c("meets_slo", "slo", "", "slo_attainment >= --slo-attainment", _S, source=M, filled="optional", kind="bool"),
    _c("mean_concurrency", "load", "requests", "requests in flight on average (Little's law)", _S, source=M),
    _c("unsent", "load", "requests", "requests never sent: the level's time limit came first", _S, LOWER, M,
       kind="int"),
    _c("warmup_requests", "load", "requests", "requests sent before the level, not measured", _S, filled="always",
       kind="int"),
    _c("client_overhead_per_token_ms", "client", "ms", "the client's own work per output chunk, median", _S, LOWER,
       M),
    _c("client_loop_lag_p50_ms", "client", "ms", "the client's event-loop lag, median", _S, LOWER, M,
       filled="optional"),
    _c("client_overhead_pct_itl", "client", "%", "the larger of the two above / median ITL", _S, LOWER, M,
       "optional"),
    _c("server_kv_cache_usage_max", "server", "fraction", "the server's KV-cache usage, peak fraction (/metrics)", _S,
       source="server", filled="optional"),
    _c("server_running_max", "server", "requests", "requests running in the server, peak", _S, source="server",
       filled="optional"),
    _c("server_waiting_max", "server", "requests", "requests waiting in the server, peak", _S, source="server",
       filled="optional"),
    _c("server_preemptions", "server", "preemptions", "preemptions during the level", _S, LOWER, "server", "optional"),
    # energy over the timed work (GPU: NVML; empty on CPU); bench.measure.telemetry.energy_columns; serve: over the
    # level's measured window, bench.measure.level_energy
    _c("energy_j", "energy", "J", "energy of the GPUs over the timed work (serve: the level's measured window)",
       BOTH, LOWER, "energy", "optional"),
    _c("avg_power_w", "energy", "W", "average power of the GPUs over the timed work (serve: the level)", BOTH, LOWER,
       "energy", "optional"),
    _c("joules_per_output_token", "energy", "J/token", "energy_j / output_tokens", BOTH, LOWER, "energy", "optional",
       "joules per output token"),
    _c("gpu_util_pct", "energy", "%", "GPU utilisation, mean over the timed work (serve: the level)", BOTH,
       source="energy", filled="optional"),
    _c("energy_source", "energy", "", "counter (the GPU's energy counter) or power (integrated samples)", BOTH,
       source="energy", filled="optional"),
    # the engine's own version, whatever the engine
    _c("engine_version", "engine", "", "the engine's version: vLLM's, transformers', the sim's model version "
       "(roofline-N), or what a served endpoint reports ('unknown' when it says nothing)", filled="always", since=2),
    # tokens per CNY at the stated mix: the one definition bench cost, bench report and the claims print
    _c("tokens_per_cny_blended", "cost", "tokens/CNY", "tokens one CNY buys at cost_mix: 1e6 / cny_per_m_blended, "
       "as a vendor's 1e6 / its prices blended at the same mix", BOTH, HIGHER, "cost", "optional",
       "tokens per CNY (blended at cost_mix)", since=3),
    # where the GPU price of the cost columns comes from
    _c("gpu_price_source", "cost", "", "source of the GPU price: hardware.yaml quote's source and tier, or 'given'",
       source="cost", filled="optional", since=3),
    _c("gpu_price_date", "cost", "", "when that GPU price was quoted (YYYY, YYYY-MM, YYYY-MM-DD or undated)",
       source="cost", filled="optional", since=3),
    _c("fx_date", "cost", "", "when the FX rate fx_cny_per_usd was observed", source="cost", filled="optional",
       since=3),
    # the input/output split of elapsed_s, step by step (bench.cost.formulas.prefill_decode_seconds_by_steps);
    # docs/cost.md. Empty: the engine reports no steps, and bench cost splits by TPOT.
    _c("prefill_s", "cost", "s", "elapsed_s spent on prompts: each engine step's time split between its prompt-chunk "
       "and decode tokens (split_method says by what); input tokens are priced on it", _R, filled="optional", since=3),
    _c("decode_s", "cost", "s", "elapsed_s spent on decodes: elapsed_s - prefill_s; output tokens are priced on it",
       _R, filled="optional", since=3),
    _c("split_method", "cost", "", "steps-expected (sim: each step's expected time, split as the roofline splits it), "
       "steps-roofline (sim --sim-timing bound: each step's roofline time by FLOPs or bytes), steps-tokens "
       "(vLLM's per-step token counts, each step by token count); empty: bench cost falls back to TPOT",
       _R, filled="optional", since=3),
    # why the energy columns of a GPU row are empty, or how they were made (docs/telemetry.md)
    _c("energy_note", "energy", "", "why a GPU row's energy columns are empty (no nvidia-ml-py, a MIG slice, vLLM's "
       "Ray backend, CUDA_VISIBLE_DEVICES hiding every GPU; serve: a CPU server, an endpoint) or how they were made "
       "(a frozen energy counter: integrated power)", BOTH, source="energy", filled="optional", since=4),
    # the expected value beside the bound (bench.roofline.predict.expected; docs/roofline.md), on GPU
    # rows with known hardware and on sim rows; named by its calibration (the published fit or a user profile)
    _c("predicted_output_tok_s", "roofline", "tok/s", "output tok/s the engine is expected to reach on this workload "
       "(efficiency model on the roofline, fitted; sim rows: the current vLLM)", _R, HIGHER, "roofline", "optional",
       "predicted output tokens/s", since=4),
    _c("predicted_ttft_p50_ms", "roofline", "ms", "predicted time to first token, median", _R, LOWER, "roofline",
       "optional", "predicted TTFT p50 (ms)", since=4),
    _c("predicted_ttft_p99_ms", "roofline", "ms", "predicted time to first token, 99th percentile", _R, LOWER,
       "roofline", "optional", "predicted TTFT p99 (ms)", since=4),
    _c("predicted_tpot_p50_ms", "roofline", "ms", "predicted time per output token, median over requests", _R, LOWER,
       "roofline", "optional", "predicted TPOT p50 (ms)", since=4),
    _c("predicted_tpot_p99_ms", "roofline", "ms", "predicted time per output token, 99th percentile", _R, LOWER,
       "roofline", "optional", "predicted TPOT p99 (ms)", since=4),
    _c("predicted_band_low_tok_s", "roofline", "tok/s", "low end of the expected output tok/s (the calibration's "
       "held-out 10th percentile of measured / predicted; bench serve --engine sim: closed-loop levels only)", BOTH, source="roofline", filled="optional", since=4),
    _c("predicted_band_high_tok_s", "roofline", "tok/s", "high end of the expected output tok/s (90th percentile, "
       "never above roofline_output_tok_s)", BOTH, source="roofline", filled="optional", since=4),
    _c("prediction_calibration", "roofline", "", "the calibration of the predicted_* columns: published-fit-N "
       "(reference/published_fit.yaml) or a user profile's name (bench calibrate); bench serve --engine sim rows: the "
       "calibration that timed them", BOTH, source="roofline",
       filled="optional", since=4),
    # honest streaming metrics (bench.measure.streaming.chunk_figures); docs/serve.md
    _c("tokens_per_chunk_max", "latency", "tokens", "the most output tokens one read of a stream carried (1: every "
       "token timed on its own; more: the server or the client coalesced tokens, ITL is then per token)", _S,
       source=M, filled="optional", since=4),
    _c("tokens_per_chunk_mean", "latency", "tokens", "output tokens per read of a stream that carried output", _S,
       source=M, filled="optional", since=4),
    _c("tpot_unmeasured", "latency", "requests", "completed requests whose output tokens all arrived at once: no TPOT "
       "or ITL (not 0), left out of the percentiles, not good under a TPOT SLO", _S, LOWER, M, "optional", kind="int",
       since=4),
    # the workload (bench.workload.source.Workload.columns); docs/workloads.md. With a dataset,
    # input_len and output_len are its mean lengths.
    _c("dataset", "workload", "", "random, shared-prefix, multi-turn, sharegpt, jsonl or trace (--dataset)",
       source=W, filled="optional", since=4),
    _c("dataset_file", "workload", "", "the dataset's file name (no directory)", source=W, filled="optional", since=4),
    _c("dataset_sha256", "workload", "", "first 16 hex digits of the dataset file's sha256", source=W,
       filled="optional", since=4),
    _c("dataset_skipped", "workload", "requests", "entries of the file left out (longer than max_model_len, or "
       "empty)", source=W, filled="optional", kind="int", since=4),
    _c("input_len_p50", "workload", "tokens", "prompt tokens per request, median", source=W, filled="optional",
       since=4),
    _c("input_len_p99", "workload", "tokens", "prompt tokens per request, 99th percentile", source=W,
       filled="optional", since=4),
    _c("input_len_max", "workload", "tokens", "prompt tokens per request, largest", source=W, filled="optional",
       since=4),
    _c("output_len_p50", "workload", "tokens", "output tokens asked per request, median", source=W,
       filled="optional", since=4),
    _c("output_len_p99", "workload", "tokens", "output tokens asked per request, 99th percentile", source=W,
       filled="optional", since=4),
    _c("output_len_max", "workload", "tokens", "output tokens asked per request, largest", source=W,
       filled="optional", since=4),
    # prefix caching measured (bench.measure.metrics.prefix_cache_figures; serve: or the server's /metrics)
    _c("prefix_caching", "engine", "", "on or off: vLLM's prefix cache (--enable-prefix-caching); empty for an "
       "endpoint or an engine without one", filled="optional", since=4),
    _c("cached_prompt_tokens", "prefix cache", "tokens", "prompt tokens served from the prefix cache (vLLM's "
       "num_cached_tokens per request; serve: the usage's cached_tokens, else /metrics prefix_cache_hits)",
       source=M, filled="optional", kind="int", since=4),
    _c("prefix_cache_hit_rate", "prefix cache", "fraction", "cached_prompt_tokens / input_tokens (serve from "
       "/metrics: hits / queried tokens)", source=M, filled="optional", label="prefix-cache hit rate", since=4),
    _c("cny_per_m_input_uncached", "cost", "CNY/M tokens", "cost of a million input tokens the prefix cache missed: "
       "prefill time over input_tokens - cached_prompt_tokens (cached tokens run in no step; cny_per_m_input is "
       "the price at the measured hit rate)", BOTH, LOWER, "cost", "optional", "CNY per M input tokens (cache miss)",
       since=4),
    # a serving level's failures by class and the rule that judged it (bench.measure.failures, bench.serve.verdict;
    # docs/serve.md "When a level fails")
    _c("max_failure_rate", "failures", "fraction", "the level's rule: failed when failure_rate is above it "
       "(--max-failure-rate)", _S, filled="always", since=5),
    _c("failure_rate", "failures", "fraction", "failed requests other than cancelled ones / requests sent other "
       "than cancelled ones; empty when none was sent", _S, LOWER, M, "optional", since=5),
    _c("errors_http", "failures", "requests", "failed: the server answered a status other than 200 (429 included)",
       _S, LOWER, M, kind="int", since=5),
    _c("rate_limited", "failures", "requests", "of errors_http, answered 429 (each one's Retry-After is in the JSON; "
       "never waited for)", _S, LOWER, M, kind="int", since=5),
    _c("errors_connection", "failures", "requests", "failed: no connection, or it broke (refused, reset, cut in the "
       "middle of a stream)", _S, LOWER, M, kind="int", since=5),
    _c("errors_timeout", "failures", "requests", "failed: no byte for --stall-timeout seconds", _S, LOWER, M,
       kind="int", since=5),
    _c("errors_stream", "failures", "requests", "failed: a 200 whose stream was malformed, carried an error, ended "
       "without [DONE] or a finish_reason, or carried no output", _S, LOWER, M, kind="int", since=5),
    _c("cancelled", "failures", "requests", "failed: cut short by the level's time limit or a signal (left out of "
       "failure_rate); failed = the five classes' sum", _S, LOWER, M, kind="int", since=5),
    _c("usage_mismatch", "failures", "requests", "completed requests whose usage.completion_tokens could not be right "
       "(negative, decreasing, 0 for a stream with output, above max_tokens or above 2x the tokens streamed): their "
       "streamed count was used", _S, LOWER, M, kind="int", since=5),
    # speculative decoding (bench.measure.speculative): vLLM's own counters over the timed run (serve: over the level,
    # from /metrics), or the sim's assumption; empty without --speculative-config
    _c("spec_method", "speculative", "", "the draft of --speculative-config: ngram, mtp, eagle, ...",
       filled="optional", since=5),
    _c("spec_draft_tokens", "speculative", "tokens", "tokens the draft proposes a step (num_speculative_tokens)",
       filled="optional", kind="int", since=5),
    _c("spec_acceptance_rate", "speculative", "fraction", "accepted / drafted tokens (vLLM's spec_decode counters; "
       "sim: --spec-acceptance, assumed)", better=HIGHER, filled="optional", label="draft acceptance rate", since=5),
    _c("spec_tokens_per_step", "speculative", "tokens", "tokens a decoding sequence emits a step: 1 + accepted / "
       "drafts (vLLM's mean acceptance length; sim: 1 + draft tokens x acceptance)", better=HIGHER,
       filled="optional", label="tokens per step (speculative)", since=5),
    _c("spec_source", "speculative", "", "measured (vLLM's counters) or assumed (the sim's --spec-acceptance)",
       filled="optional", since=5),
    # repeats and honest percentiles (bench.measure.uncertainty): sample counts, the p99's reliability and its 95% bound
    _c("repeat_index", "identity", "", "which repeat of its case or level this row is (--repeats: 0, 1, ...; rows "
       "of one case share every other setting)", filled="always", kind="int", since=6),
    _c("ttft_samples", "latency", "requests", "requests the TTFT percentiles are taken over", source=M,
       kind="int", since=6),
    _c("tpot_samples", "latency", "requests", "requests the TPOT percentiles are taken over (output of 2 or more "
       "tokens)", source=M, kind="int", since=6),
    _c("e2e_samples", "latency", "requests", "requests the E2E percentiles are taken over", source=M,
       kind="int", since=6),
    _c("ttft_p99_reliable", "latency", "", "ttft_samples >= 100: below that the p99 is the slowest request or an "
       "interpolation towards it (p95 needs 20, p90 10: n x (1 - q) >= 1)", source=M, filled="optional",
          kind="bool", since=6),
    _c("tpot_p99_reliable", "latency", "", "tpot_samples >= 100 (as ttft_p99_reliable)", source=M,
       filled="optional", kind="bool", since=6),
    _c("e2e_p99_reliable", "latency", "", "e2e_samples >= 100 (as ttft_p99_reliable)", source=M,
       filled="optional", kind="bool", since=6),
    _c("ttft_p99_bound_ms", "latency", "ms", "the value TTFT's p99 lies under at 95% confidence: the k-th smallest "
       "sample, k the least with P(Binomial(n, 0.99) < k) >= 0.95 (MLPerf's early stopping); empty under 299 "
       "samples; SLO checks at p99 use it", BOTH, LOWER, M, "optional", "TTFT p99 95% bound (ms)", since=6),
    _c("tpot_p99_bound_ms", "latency", "ms", "the value TPOT's p99 lies under at 95% confidence (as "
       "ttft_p99_bound_ms)", BOTH, LOWER, M, "optional", "TPOT p99 95% bound (ms)", since=6),
    _c("itl_samples", "latency", "tokens", "inter-token gaps the ITL percentiles are taken over", _S,
       source=M, kind="int", since=6),
    # rows read from other tools' results files (bench.interop; docs/interop.md)
    _c("source_format", "source", "", "the file's format: vllm-bench-serve, vllm-bench-throughput, aiperf-json, "
       "aiperf-csv, guidellm or br0.2 (told by its content)", _I, filled="always", since=7),
    _c("source_tool", "source", "", "the program that wrote the file, as the file names it", _I, filled="optional",
       since=7),
    _c("source_tool_version", "source", "", "its version, as the file states it (empty: the file does not say)", _I,
       filled="optional", since=7),
    _c("source_file", "source", "", "the file's name (no directory)", _I, filled="always", since=7),
    _c("source_sha256", "source", "", "sha256 of the whole file", _I, filled="always", since=7),
    _c("source_benchmark", "source", "", "which benchmark of the file (1, 2, ...: GuideLLM's benchmarks, vLLM's "
       "appended results, a report per YAML document)", _I, filled="always", kind="int", since=7),
    _c("given_columns", "source", "", "columns whose value came from the command line (--model, --hardware, --gpus), "
       "not from the file: given, not measured", _I, filled="optional", since=7),
    _c("recomputed_from", "source", "requests", "per-request records the latency, throughput and goodput figures "
       "were recomputed from by bench's code (empty: the tool's own summary)", _I, filled="optional", kind="int",
       since=7),
    _c("tool_disagreement", "source", "", "figures where bench's recomputation and the tool's own summary differ by "
       "more than 1%, each with both values (the tool's whole summary is in the row's JSON)", _I, filled="optional",
       since=7),
    # the highest load a latency target allows (bench serve --find-max-load; bench.analysis.boundary, docs/serve.md)
    _c("search_step", "search", "", "which level of a --find-max-load search the row is (1, 2, ... in the order "
       "tried; rows of one search share sweep_id); empty outside a search", _S, filled="optional", kind="int",
       since=8),
    _c("search_passed", "search", "", "the level was measured without failure and its ttft_p99_bound_ms and "
       "tpot_p99_bound_ms met the targets (a missing bound does not)", _S, filled="optional", kind="bool", since=8),
    _c("slo_boundary", "search", "", "true on the highest passing level below every failing one of its search: the "
       "highest load the SLO allows (MLPerf's server metric; bench plan takes its throughput as a replica's "
       "capacity); false on the search's other levels", _S, filled="optional", kind="bool", since=8),
    # throughput over the steady state (bench.measure.steady): ramp-up [0, steady_start_s] and drain
    # [steady_end_s, elapsed_s] left out
    _c("steady_start_s", "throughput", "s", "end of the ramp-up, from the level's start: the first request to end "
       "(until then the server is filling up)", _S, source=M, filled="optional", since=8),
    _c("steady_end_s", "throughput", "s", "start of the drain: the last request sent (after it the server only "
       "empties); empty when it comes before steady_start_s (no steady state: too few requests)", _S, source=M,
       filled="optional", since=8),
    _c("steady_output_tok_s", "throughput", "tok/s", "output tokens that arrived in the steady window / its length "
       "(each token at its own arrival)", _S, HIGHER, M, "optional", "steady output tokens/s", since=8),
    _c("steady_total_tok_s", "throughput", "tok/s", "(prompt tokens of the requests whose first token arrived in "
       "the window + output tokens that arrived in it) / its length", _S, HIGHER, M, "optional",
       "steady total tokens/s", since=8),
    _c("steady_requests_per_s", "throughput", "req/s", "requests that completed in the steady window / its length",
       _S, HIGHER, M, "optional", "steady requests/s", since=8),
    # energy per token of any kind, and how much of the window the GPU samples covered
    _c("joules_per_total_token", "energy", "J/token", "energy_j / (input_tokens + output_tokens)", BOTH, LOWER,
       "energy", "optional", "joules per token (input + output)", since=8),
    _c("energy_coverage", "energy", "fraction", "share of the level's measured window between the first and the last "
       "GPU sample (below 0.99 the energy columns stay empty)", _S, source="energy", filled="optional", since=8),
    # the simulated server (bench serve --engine sim; bench.roofline.servesim, docs/roofline.md "The serving model")
    _c("predicted_capacity_req_s", "roofline", "req/s", "the card's predicted saturated throughput for this level's "
       "requests: a rate above it makes the queue grow without bound (bench serve --engine sim refuses it)", _S,
       HIGHER, "roofline", "optional", "predicted capacity (requests/s)", since=8),
    # what else the machine did over the timed work (serve: the level); bench.measure.hostload. Empty for
    # predicted rows, a server bench did not start (--endpoint), and machines without /proc/stat
    _c("host_other_cpu_pct", "host", "%", "share of the machine's CPU time (all cores) busy in processes outside "
       "bench's own tree (bench, its engine or server and their workers) over the timed work (serve: the level, its "
       "warm-up included): near 0 on a quiet machine", BOTH, LOWER, "host", "optional", "CPU elsewhere (%)", since=9),
    _c("host_steal_pct", "host", "%", "share of the machine's CPU time its hypervisor gave to other guests (steal) "
       "over the timed work", BOTH, LOWER, "host", "optional", "CPU steal (%)", since=9),
    # the simulated server's latencies at the edges of its calibration's band (bench.serve.simulated.band_columns):
    # every engine step as fast (low) or as slow (high) as the band's held-out rows ran against their prediction
    _c("predicted_band_low_ttft_p99_ms", "roofline", "ms", "bench serve --engine sim: TTFT p99 with every engine step "
       "at the fast edge of the calibration's band (x 1 / its high end); empty for the roofline bound; inf as the "
       "high one's, where the whole band lies below the prediction", _S, LOWER, "roofline", "optional",
       "predicted TTFT p99, band low (ms)", since=10, inf=True),
    _c("predicted_band_high_ttft_p99_ms", "roofline", "ms", "TTFT p99 with every engine step at the band's slow edge "
       "(x 1 / its low end); inf: an open-loop rate above the card's capacity there (the queue grows without "
       "bound)", _S, LOWER, "roofline", "optional", "predicted TTFT p99, band high (ms)", since=10, inf=True),
    _c("predicted_band_low_tpot_p99_ms", "roofline", "ms", "TPOT p99 with every engine step at the band's fast "
       "edge", _S, LOWER, "roofline", "optional", "predicted TPOT p99, band low (ms)", since=10),
    _c("predicted_band_high_tpot_p99_ms", "roofline", "ms", "TPOT p99 with every engine step at the band's slow "
       "edge", _S, LOWER, "roofline", "optional", "predicted TPOT p99, band high (ms)", since=10),
)

# The columns that say what load a serving row ran at (offline rows leave them empty: their load is max_num_seqs).
LOAD_KEYS = ("request_rate", "concurrency")

BY_NAME: dict[str, Column] = {c.name: c for c in DECLARED}
COLUMNS: list[str] = [c.name for c in DECLARED]


def columns_of(writer: str, source: str | None = None) -> list[Column]:
    """The columns `writer` fills (all of them, or those copied from one `source` dict), in CSV order."""
    return [c for c in DECLARED if writer in c.writers and (source is None or c.source == source)]


def names_of(writer: str, source: str | None = None) -> tuple[str, ...]:
    return tuple(c.name for c in columns_of(writer, source))


def group_names(group: str) -> tuple[str, ...]:
    return tuple(c.name for c in DECLARED if c.group == group)


def directions() -> dict[str, int]:
    """Column -> HIGHER (+1) or LOWER (-1): compare's verdicts."""
    return {c.name: c.better for c in DECLARED if c.better is not None}


def label(name: str) -> str:
    """How a chart or table names a column: its declared label, else the name itself."""
    col = BY_NAME.get(name)
    return col.title if col else name


def version_of(declared: tuple[Column, ...] = DECLARED) -> int:
    """The schema version of these declarations: the newest column's `since`."""
    return max(c.since for c in declared)


def added_by_version(declared: tuple[Column, ...] = DECLARED) -> dict[int, tuple[str, ...]]:
    """Version -> the columns it added, in CSV order (version 1: the columns files began with)."""
    out: dict[int, tuple[str, ...]] = {}
    for c in declared:
        out[c.since] = out.get(c.since, ()) + (c.name,)
    return out


def check(declared: tuple[Column, ...]) -> None:
    """Declarations that cannot be right: caught at import, so no test can miss them. ValueError names the column."""
    seen: set[str] = set()
    newest = 1
    for c in declared:
        if c.name in seen:
            raise ValueError(f"column {c.name} declared twice")
        seen.add(c.name)
        if c.better is not None and c.better not in (HIGHER, LOWER):
            raise ValueError(f"column {c.name}: better must be HIGHER, LOWER or None")
        if c.source not in SOURCES or c.filled not in FILLED or not set(c.writers) <= set(WRITERS) or not c.writers:
            raise ValueError(f"column {c.name}: bad source, filled or writers")
        if c.kind not in KINDS or (c.inf and c.kind != "number"):
            raise ValueError(f"column {c.name}: kind must be one of {', '.join(KINDS)} (inf: a number only)")
        if not isinstance(c.since, int) or c.since < newest:
            # the order is the interface: a file of version N holds exactly the columns of versions <= N, in order
            raise ValueError(f"column {c.name}: since={c.since} after a column of version {newest}; a new column "
                             f"goes at the end with since={version_of(declared) + 1}")
        newest = c.since
    missing = sorted(set(range(1, newest + 1)) - {c.since for c in declared})
    if missing:
        raise ValueError(f"no column arrived in version {missing[0]}: versions count up by one")


check(DECLARED)
SCHEMA_VERSION = version_of(DECLARED)
