"""The source articles' checkable claims (../shared/reference/seed-claims.md) beside what the
harness computes from prices.yaml, hardware.yaml and model configs, or measured in the results.

Each claim becomes one table row: the article's figure, the harness's figure, and the basis: "computed from
configs / prices.yaml (in force DAY) / hardware.yaml", "measured", "simulated (roofline)" (engine=sim rows only),
"assumed" (the article's own figure), joined with " + ", or "not measured in these results" with what would
measure it. The claims added later, with their arithmetic, are in seed_claims_added.py.
"""

from __future__ import annotations

import datetime as dt

from bench.cost import formulas as cost

from bench.model import modelmath
from bench.cost.pricing import tokens_per_cny_blended
from bench.config.prices import PriceBook, VendorPrice
from bench.analysis.report.model import Run, Section, by_key
from bench.studies.claim_inputs import (NOT_MEASURED, ClaimInputs, _price_on, _rows_of, _source,  # noqa: F401
                                        basis)
from bench.analysis.report.sections import attention_kind
from bench.studies.seed_claims_added import ADDED_CLAIMS, DEEPSEEK_V2_ATTENTION, DENSE_67B_GQA, LATENT_BITS
from bench.core import formats as fmt


# DeepSeek-V2 and DeepSeek 67B attention fields (config.json on Hugging Face) and the paper's ~6-bit latent.
DEEPSEEK_67B_ATTENTION, PAPER_KV_BITS = DENSE_67B_GQA, LATENT_BITS
DOUBAO_RPM = 60  # article 001: the 0.8 CNY price held only at 60 requests per minute
XIAOICE_CNY_PER_DAY = 300e6
QWEN_TURBO_DEDICATED_CNY_PER_MONTH = 20000.0
QWEN_TURBO_CLAIM_DAY = dt.date(2024, 5, 21)
YEAR_DAYS = 365.25  # a fall is annualised only over at least this many days  # the article's day: qwen-turbo's price after the 21 May cut
ARTICLE_TOKENS_PER_CNY = "GPT ~2,400; domestic model ~8,000; self-hosted Llama ~30,000; Doubao 1.25M"
PRICE_CLAIMS = (("qwen-long", "20 -> 0.5 input (-97%)"), ("glm-3-turbo", "5 -> 1"), ("deepseek-chat", "1 input"),
                ("glm-4", "100"), ("qwen-72b-chat", "20"), ("gpt-4-turbo", "USD 10 / 30"),
                ("ernie-speed-8k", "free"), ("ernie-lite-8k", "free"), ("spark-lite", "free"),
                ("hunyuan-lite", "free"))


def _replicated_latent_caveat(mla_runs: list[Run]) -> str:
    """A TP>1 run of an MLA model keeps the whole latent on every GPU (it has no KV heads to split), so the
    node holds tp x its bytes per token, while a dense model's KV heads are split tp ways."""
    tps = sorted({int(r.num("tensor_parallel_size") or 1) for r in mla_runs} - {1})
    if not tps:
        return ""
    tp = tps[-1]
    return (f"caveat: the MLA run is TP{tp}: its latent is replicated on each of the {tp} GPUs, so the node "
            f"holds {tp}x its bytes per token while a dense model's KV is split {tp} ways; compare at TP1")


def kv_claim(inp: ClaimInputs) -> tuple[str, str]:
    v2 = modelmath.kv_bytes_per_token(DEEPSEEK_V2_ATTENTION)
    d67 = modelmath.kv_bytes_per_token(DEEPSEEK_67B_ATTENTION)
    bf16_cut = 1 - v2 / d67
    quant_cut = 1 - v2 * PAPER_KV_BITS / 16 / d67
    parts = [f"config arithmetic: DeepSeek-V2 {fmt.num(v2)} vs DeepSeek 67B {fmt.num(d67)} KV bytes/token at bf16, "
             f"{fmt.pct(bf16_cut)} less ({fmt.ratio(d67 / v2)}); with the latent at ~{PAPER_KV_BITS} bits "
             f"{fmt.pct(quant_cut)} less"]
    how = basis("computed from configs")
    kinds: dict[str, dict[str, tuple[float, list[Run]]]] = {}
    for r in inp.runs:
        kv = r.num("kv_bytes_per_token")
        cfg = inp.configs.get(r.model)
        if kv and cfg:
            _, runs = kinds.setdefault(attention_kind(cfg), {}).setdefault(r.model, (kv, []))
            runs.append(r)
    if "MLA" in kinds and len(kinds) > 1:
        mla_model, (mla_kv, mla_runs) = next(iter(kinds["MLA"].items()))
        others = [(m, kv, runs) for k, d in kinds.items() if k != "MLA" for m, (kv, runs) in d.items()]
        behind = mla_runs + [r for _, _, runs in others for r in runs]
        label = _source(behind)
        parts.append(f"{label}: " + ", ".join(f"{mla_model} {fmt.num(mla_kv)} B/token = {fmt.ratio(mla_kv / kv)} of "
                                              f"{m}'s {fmt.num(kv)}" for m, kv, _ in others))
        caveat = _replicated_latent_caveat(mla_runs)
        if caveat:
            parts.append(caveat)
        how = basis("computed from configs", label)
    else:
        parts.append(f"KV of an MLA model beside a dense one: {NOT_MEASURED}")
    groups = by_key(inp.runs, lambda r: r.model)
    tput = {m: max((r.num("output_tok_s") or 0) for r in g) for m, g in groups.items()}
    if tput.get("deepseek-v2-chat") and tput.get("deepseek-llm-67b-chat"):
        label = _source(groups["deepseek-v2-chat"] + groups["deepseek-llm-67b-chat"])
        parts.append(f"max throughput ratio ({label}) "
                     f"{fmt.ratio(tput['deepseek-v2-chat'] / tput['deepseek-llm-67b-chat'])}")
    else:
        parts.append(f"the 5.76x throughput: {NOT_MEASURED} (needs DeepSeek-V2 and DeepSeek 67B at their largest "
                     "batch on one GPU type)")
    return "; ".join(parts), how


def _busiest(runs: list[Run]) -> Run | None:
    """The run with the most requests per second, a measured one where there is one."""
    with_rate = [r for r in runs if r.num("requests_per_s")]
    measured = [r for r in with_rate if not r.predicted]
    return max(measured or with_rate, key=lambda r: r.num("requests_per_s"), default=None)


def doubao_claim(inp: ClaimInputs) -> tuple[str, str]:
    p = _price_on(inp.book, "doubao-pro-32k", dt.date(2024, 5, 15))
    if p is None:
        return "doubao-pro-32k is not in prices.yaml", NOT_MEASURED
    i, o = p.input_cny_per_m(inp.opts.fx_cny_per_usd), p.output_cny_per_m(inp.opts.fx_cny_per_usd)
    ratio = cost.input_share_for_blend(i, o, 1.0)
    blended = cost.cny_per_m_blended(i, o, inp.opts.mix)
    parts = [f"prices.yaml {fmt.given(i)} / {fmt.given(o)} CNY/M: the blend is 1 CNY/M at {fmt.num(ratio)}:1 input:output "
             f"({fmt.cny(blended)} at {cost.format_mix(inp.opts.mix)}); 1 CNY buys {fmt.tokens(cost.tokens_per_cny(i))} "
             "input tokens"]
    priced = f"computed from prices.yaml (in force {p.since})"
    busy = _busiest(inp.runs)
    if busy is None:
        parts.append(f"accounts to match a GPU: {NOT_MEASURED}")
        return "; ".join(parts), priced
    per_min = busy.num("requests_per_s") * 60
    parts.append(f"{busy.series} served {fmt.num(per_min)} requests/min ({busy.workload}) = "
                 f"{fmt.num(per_min / DOUBAO_RPM)} accounts at {DOUBAO_RPM} RPM")
    return "; ".join(parts), basis(priced, _source([busy]))


def tokens_per_cny_claim(inp: ClaimInputs) -> tuple[str, str]:
    """Tokens per CNY blended at the report's mix (bench.cost.pricing.tokens_per_cny_blended), self-hosted and
    vendor alike: the figure of the report's cost table and of `bench cost` for the same row."""
    mix = cost.format_mix(inp.opts.mix)
    vendor = [f"{v.label} {fmt.tokens(tokens_per_cny_blended(v.cny_per_m))}" for v in inp.vendors
              if v.price.model in ("gpt-4-turbo", "gpt-4o", "doubao-pro-32k") and v.cny_per_m > 0]
    vendor_text = f"vendor list prices on {inp.as_of}: {', '.join(vendor)}" if vendor else ""
    head = f"tokens per CNY blended at {mix} input:output"
    if not inp.best:
        return "; ".join(x for x in (head, f"self-hosted: {NOT_MEASURED} (no priced row; pass --hardware)",
                                     vendor_text) if x), "computed from prices.yaml"
    shown = [p for p in inp.best if p.cost.tokens_per_cny_blended is not None][:4]
    mine = [f"{p.label} {fmt.tokens(p.cost.tokens_per_cny_blended)}" for p in shown]
    runs_text = f"self-hosted at 100% utilisation: {', '.join(mine)}" if mine else \
        f"self-hosted: {NOT_MEASURED} (no row splits into prefill and decode)"
    return ("; ".join(x for x in (head, runs_text, vendor_text) if x),
            f"{_source([p.run for p in shown])} (self-hosted) + computed from prices.yaml (vendors)" if shown
            else "computed from prices.yaml")


def _history_text(rows: list[VendorPrice]) -> str:
    """'1/2 -> 1/0.1/2 from DAY (...)': the row's prices in date order, a step shown only where a price changed
    (a new model served at the same price, or a row that only adds a note, is no step)."""
    def one(p: VendorPrice) -> str:
        if p.free:
            return "free"
        cur = "" if p.currency == "CNY" else f"{p.currency} "
        return f"{cur}{fmt.given(p.input_per_m)}/{fmt.given(p.output_per_m)}"

    def key(p: VendorPrice) -> tuple:
        return p.free, p.currency, p.input_per_m, p.output_per_m

    steps = [one(rows[0])]
    prev = rows[0]
    for p in rows[1:]:
        if key(p) == key(prev):
            continue
        change = ""
        if (not prev.free and not p.free and prev.input_per_m and prev.currency == p.currency
                and p.input_per_m != prev.input_per_m):
            change = f" ({fmt.pct(p.input_per_m / prev.input_per_m - 1, signed=True)} input)"
        steps.append(f"{one(p)} from {p.since}{change}")
        prev = p
    return " -> ".join(steps)


def price_table_claim(inp: ClaimInputs) -> tuple[str, str]:
    parts = []
    for model, claimed in PRICE_CLAIMS:
        rows = _rows_of(inp.book, model)
        parts.append(f"{model} {_history_text(rows) if rows else 'not in prices.yaml'}")
    return ("prices.yaml (input/output per M, CNY unless marked): " + "; ".join(parts),
            "computed from prices.yaml (dated rows)")


def dedicated_claim(inp: ClaimInputs) -> tuple[str, str]:
    """The 20,000 CNY/month deployment against qwen-turbo's API blended at the report's mix (the article's
    '2 CNY/M' is the input price alone), from the prices.yaml row in force on the article's day."""
    fee_per_hour = QWEN_TURBO_DEDICATED_CNY_PER_MONTH / cost.HOURS_PER_MONTH
    p = _price_on(inp.book, "qwen-turbo", QWEN_TURBO_CLAIM_DAY)
    if p is None or p.free:
        return "qwen-turbo is not in prices.yaml (a paid row is needed)", NOT_MEASURED
    fx, mix = inp.opts.fx_cny_per_usd, inp.opts.mix
    blended = p.blended_cny_per_m(mix, fx)
    per_day = cost.breakeven_tokens_per_day(fee_per_hour, blended)
    parts = [f"qwen-turbo from {p.since}: {fmt.given(p.input_cny_per_m(fx))} in / {fmt.given(p.output_cny_per_m(fx))} out "
             f"CNY/M, {fmt.cny(blended)} blended {cost.format_mix(mix)}; the 20,000 CNY/month deployment is cheaper "
             f"above {fmt.tokens(per_day)} tokens/day ({fmt.tokens(per_day * cost.HOURS_PER_MONTH / 24)}/month)"]
    how = f"computed from prices.yaml (in force {p.since}) + assumed (the article's 20,000 CNY/month)"
    if not inp.best:
        parts.append(f"self-hosted monthly cost and capacity: {NOT_MEASURED}")
        return "; ".join(parts), how
    for q in inp.best[:3]:
        month_cny = q.cost.cny_per_hour * cost.HOURS_PER_MONTH
        capacity = (q.run.num("total_tok_s") or 0) * 3600 * cost.HOURS_PER_MONTH
        parts.append(f"{q.label}: {fmt.cny(month_cny)} CNY/month for up to {fmt.tokens(capacity)} tokens/month")
    return "; ".join(parts), basis(how, _source([q.run for q in inp.best[:3]]))


def _price_changes(book: PriceBook, mix, fx: float) -> list[tuple[float, str]]:
    """(first / last blended price, text) of every paid vendor model with two or more dated prices of the same
    model: rows whose `version` differs (one API name serving a new model) are never compared. A fall is
    given as a rate per year, (first / last) ** (365.25 / days), only over a year or more: a cut that happened
    once within a few months says nothing about a yearly rate (one 8x cut 121 days after the last would read
    as '532x a year')."""
    out = []
    paid = [p for p in book.prices if p.counts_from and not p.free]
    for (_, model, version), rows in by_key(paid, lambda p: (p.vendor, p.model, p.version or "")).items():
        if len(rows) < 2:
            continue
        rows = sorted(rows, key=lambda p: p.counts_from)
        first, last = rows[0], rows[-1]
        if first.currency != last.currency:  # a row recorded in another currency is no price change
            continue
        fall = first.blended_cny_per_m(mix, fx) / last.blended_cny_per_m(mix, fx)
        days = (last.counts_from - first.counts_from).days
        if days <= 0 or fall == 1:
            continue
        how = fmt.dearer_or_cheaper(1 / fall)  # fall: first / last price, above 1 when it got cheaper
        if days >= YEAR_DAYS:
            rate = f"; annualised {fmt.dearer_or_cheaper(1 / fall ** (YEAR_DAYS / days))} a year"
        else:
            rate = ": under a year, no yearly rate"
        name = f"{model} {version}".strip()
        out.append((fall, f"{name} {how} from {first.since} to {last.since} ({days} days{rate})"))
    return sorted(out, reverse=True)


def _versions_not_compared(book: PriceBook) -> list[str]:
    """API names that served more than one model (versions): their prices are compared only within a version."""
    by_model = by_key([p for p in book.prices if p.version], lambda p: p.model)
    return [f"{m} ({', '.join(dict.fromkeys(p.version for p in rows))})" for m, rows in by_model.items()
            if len({p.version for p in rows}) > 1]


def trend_claim(inp: ClaimInputs) -> tuple[str, str]:
    changes = _price_changes(inp.book, inp.opts.mix, inp.opts.fx_cny_per_usd)
    shown = changes[:3] + [c for c in changes[3:] if c[0] < 1][:1]
    parts = [f"price history in prices.yaml (blended {cost.format_mix(inp.opts.mix)}, same model only): "
             + ("; ".join(t for _, t in shown) or "no model with two dated prices")]
    versions = _versions_not_compared(inp.book)
    if versions:
        parts.append("not compared across the models one API name served: " + ", ".join(versions))
    names = [p.cost.hardware for p in inp.best if inp.hardware.hardware[p.cost.hardware].purchase is not None]
    o = inp.opts
    for name in dict.fromkeys(names or ["H100-SXM"]):
        hw = inp.hardware.hardware.get(name)
        if hw is None or hw.purchase is None:
            continue
        capital = cost.owned_capital_cny_per_hour(hw.purchase.per_card_cny(o.fx_cny_per_usd), 1, o.amortization_years)
        energy = cost.energy_cny_per_hour(hw.tdp_w, o.electricity_cny_per_kwh, o.pue)
        parts.append(f"{name} owned: energy is {fmt.pct(energy / (capital + energy))} of capital + energy "
                     f"({fmt.cny(energy)} of {fmt.cny(capital + energy)} CNY/h at TDP, {fmt.given(o.amortization_years)}-year write-off)")
    return "; ".join(parts), "computed from prices.yaml (dated rows) and hardware.yaml"


def xiaoice_claim(inp: ClaimInputs) -> tuple[str, str]:
    def buys(cny_per_m: float) -> str:
        return fmt.tokens(XIAOICE_CNY_PER_DAY / cny_per_m * 1e6)

    parts = []
    for p in inp.best[:3]:
        machines = XIAOICE_CNY_PER_DAY / (p.cost.cny_per_hour * 24)
        parts.append(f"{p.label}: {buys(p.cny_per_m)} tokens/day ({fmt.num(machines)} such machines)")
    paid = [v for v in inp.vendors if v.cny_per_m > 0]
    for v in (paid[:1] + [v for v in paid if v.price.model == "gpt-4-turbo"]):
        parts.append(f"{v.label}: {buys(v.cny_per_m)} tokens/day")
    how = basis(f"computed from prices.yaml (in force {inp.as_of}) and hardware.yaml",
                _source([p.run for p in inp.best[:3]]) if inp.best else "")
    if not inp.best:
        parts.append(f"self-hosted: {NOT_MEASURED}")
    return "300M CNY a day buys: " + "; ".join(parts), how


def engine_claim(inp: ClaimInputs) -> tuple[str, str]:
    measured = [r for r in inp.runs if not r.predicted]
    ratios = []
    for key, group in by_key(measured, lambda r: (r.model, r.workload, r.batch, r.machine)).items():
        engines = {e: max(r.num("output_tok_s") or 0 for r in g) for e, g in by_key(group, lambda r: r.engine).items()}
        if len(engines) > 1 and engines.get("vllm"):
            ratios += [f"{e}/vllm {fmt.ratio(tok_s / engines['vllm'])} ({key[0]}, {key[3]})"
                       for e, tok_s in engines.items() if e != "vllm"]
    if ratios:
        return "; ".join(ratios), "measured"
    return (f"{NOT_MEASURED}: needs a second engine (e.g. plain transformers) run on the same model, workload and "
            "GPU as vLLM"), NOT_MEASURED


CLAIMS = (
    ("DeepSeek-V2's MLA cuts the KV cache by 93.3% and raises max throughput 5.76x vs DeepSeek 67B", kv_claim),
    ("Doubao-pro-32k 0.8 in / 2 out CNY/M, 'blended 1 CNY/M', 1 CNY buys 1.25M tokens, only at 60 RPM",
     doubao_claim),
    (f"Tokens per CNY: {ARTICLE_TOKENS_PER_CNY}", tokens_per_cny_claim),
    ("Qwen-Long input 20 -> 0.5 CNY/M (-97%); GLM-3-Turbo 5 -> 1; DeepSeek-V2 1; GLM-4 100; qwen-72b-chat 20; "
     "GPT-4 Turbo USD 10/30; ERNIE Speed/Lite, Spark Lite, hunyuan-lite free", price_table_claim),
    ("qwen-turbo: 2 CNY/M to run, 20,000 CNY/month as a dedicated deployment", dedicated_claim),
    ("Inference cost falls 10x a year; 95% of inference cost is compute", trend_claim),
    ("Xiaoice: serving its dialogue volume the ChatGPT way would cost 300M CNY a day", xiaoice_claim),
    ("Tencent's inference framework is 1.3x faster than mainstream ones; ERNIE cut inference cost 10x", engine_claim),
    *ADDED_CLAIMS,
)


def claim_rows(inp: ClaimInputs) -> list[list]:
    """[#, what the article claimed, what the harness computed or measured, basis] per claim."""
    rows = []
    for i, (claim, check) in enumerate(CLAIMS, 1):
        text, basis = check(inp)
        rows.append([fmt.num(i), claim, text, basis])
    return rows


def claims_section(inp: ClaimInputs) -> Section:
    """The report's section of the seed articles' claims (a ReportOptions.extra_sections entry)."""
    return Section(
        slug="seed-claims", title="The articles' claims beside the harness",
        note="What each source article claimed (../shared/reference/seed-claims.md) and what the harness computed "
             "from prices.yaml, hardware.yaml and model configs, or measured in these results.",
        headers=["#", "the article claimed", "the harness computed or measured", "basis"], rows=claim_rows(inp))
