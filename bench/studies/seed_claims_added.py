"""The seed articles' further claims in the report: each computed from model configs,
prices.yaml or the report's rows, with its basis (computed / measured / simulated (roofline) / assumed)."""

from __future__ import annotations

import datetime as dt

from bench.cost import formulas as cost
from bench.model import modelmath
from bench.core import formats as fmt
from bench.studies.claim_inputs import NOT_MEASURED, ClaimInputs, _price_on, _source, basis

# The attention fields of the configs the DeepSeek-V2 paper compares (Hugging Face config.json of
# deepseek-ai/DeepSeek-V2 and deepseek-ai/deepseek-llm-67b-base): enough for KV bytes per token.
# DeepSeek-V2 (MLA) beside DeepSeek 67B as the paper configures it (GQA, 8 KV heads) and the same 67B with
# every head keeping its own K and V (MHA, 64 KV heads): the "dense model of its class" at both ends.
DEEPSEEK_V2_ATTENTION = {"num_hidden_layers": 60, "kv_lora_rank": 512, "qk_rope_head_dim": 64}
DENSE_67B_GQA = {"num_hidden_layers": 95, "num_attention_heads": 64, "num_key_value_heads": 8, "hidden_size": 8192}
DENSE_67B_MHA = {**DENSE_67B_GQA, "num_key_value_heads": 64}
LATENT_BITS = 6  # the paper's 93.3% assumes the MLA cache quantised to about 6 bits per element
KV_CLAIM_RANGE = (5.0, 100.0)  # "1/5 to 1/100 of a dense model"

INDUSTRY_CNY_PER_M = 120.0  # "0.12 CNY per 1K tokens", the price the Doubao cuts are measured against
DOUBAO_CUTS = (("doubao-pro-32k", 99.3), ("doubao-pro-128k", 95.8))
DOUBAO_DAY = dt.date(2024, 5, 15)

DEEPSEEK_DAY = dt.date(2024, 5, 6)  # DeepSeek-V2's launch price
ARTICLE_CHARS_PER_TOKEN = 1500 / 1000  # "1,500 Chinese characters per 1K tokens"
ARTICLE_SELF_HOSTED_TOKENS_PER_CNY = 30_000.0  # "about 30,000 tokens per CNY by self-hosting Llama"


def kv_fraction_claim(inp: ClaimInputs) -> tuple[str, str]:
    """KV bytes per token of DeepSeek-V2 as a fraction of a dense 67B's, at bf16 and with a ~6-bit latent."""
    v2 = modelmath.kv_bytes_per_token(DEEPSEEK_V2_ATTENTION)
    quant = v2 * LATENT_BITS / 16
    lo, hi = KV_CLAIM_RANGE
    parts = []
    for name, cfg in (("DeepSeek 67B (GQA, 8 KV heads)", DENSE_67B_GQA), ("a 67B with MHA (64 KV heads)",
                                                                          DENSE_67B_MHA)):
        dense = modelmath.kv_bytes_per_token(cfg)
        at16, at6 = dense / v2, dense / quant
        inside = [f"1/{fmt.num(x)}" + ("" if lo * 0.95 <= x <= hi * 1.05 else f" (outside 1/{fmt.given(lo)}-1/{fmt.given(hi)})") for x in (at16, at6)]
        parts.append(f"vs {name} {fmt.num(dense)} B/token: {inside[0]} at bf16, {inside[1]} with a ~{LATENT_BITS}-bit latent")
    return (f"DeepSeek-V2 {fmt.num(v2)} KV bytes/token at bf16 ({fmt.num(quant)} at ~{LATENT_BITS} bits); " + "; ".join(parts),
            "computed from configs")


def doubao_cut_claim(inp: ClaimInputs) -> tuple[str, str]:
    """-99.3% and -95.8%: Doubao-pro's input prices against 120 CNY/M (0.12 CNY per 1K tokens)."""
    fx = inp.opts.fx_cny_per_usd
    parts, days = [], []
    for model, claimed in DOUBAO_CUTS:
        p = _price_on(inp.book, model, DOUBAO_DAY)
        if p is None:
            parts.append(f"{model}: not in prices.yaml")
            continue
        price = p.input_cny_per_m(fx)
        cut = 1 - price / INDUSTRY_CNY_PER_M
        parts.append(f"{model} {fmt.given(price)} CNY/M input: 1 - {fmt.given(price)} / {fmt.given(INDUSTRY_CNY_PER_M)} = {fmt.pct(cut)} below "
                     f"(article {claimed}%)")
        days.append(str(p.since))
    at_120 = sorted({f"{p.vendor} {p.label} from {p.since}" for p in inp.book.prices
                     if not p.free and p.input_cny_per_m(fx) == INDUSTRY_CNY_PER_M})
    parts.append("120 CNY/M input in prices.yaml: " + (", ".join(at_120) if at_120 else "not in prices.yaml"))
    how = basis(f"computed from prices.yaml (in force {', '.join(dict.fromkeys(days))})" if days else "",
                "assumed (the article's 120 CNY/M reference)")
    return "; ".join(parts), how


def deepseek_gpt4_claim(inp: ClaimInputs) -> tuple[str, str]:
    """DeepSeek-V2's launch price beside GPT-4 Turbo's on the same day: input, output and blended."""
    fx, mix = inp.opts.fx_cny_per_usd, inp.opts.mix
    ds, gpt = _price_on(inp.book, "deepseek-chat", DEEPSEEK_DAY), _price_on(inp.book, "gpt-4-turbo", DEEPSEEK_DAY)
    missing = [m for m, p in (("deepseek-chat", ds), ("gpt-4-turbo", gpt)) if p is None]
    if missing:
        return f"{', '.join(missing)} not in prices.yaml", NOT_MEASURED
    pairs = (("input", ds.input_cny_per_m(fx), gpt.input_cny_per_m(fx)),
             ("output", ds.output_cny_per_m(fx), gpt.output_cny_per_m(fx)),
             (f"blended {cost.format_mix(mix)}", ds.blended_cny_per_m(mix, fx), gpt.blended_cny_per_m(mix, fx)))
    text = "; ".join(f"{what} {fmt.cny(a)} vs {fmt.cny(b)} CNY/M = 1/{fmt.num(b / a)}" for what, a, b in pairs)
    return (f"{ds.label} from {ds.since} vs {gpt.label} from {gpt.since} (USD at {fmt.given(fx)}): {text}",
            f"computed from prices.yaml (in force {DEEPSEEK_DAY})")


def chars_per_token_claim(inp: ClaimInputs) -> tuple[str, str]:
    """What 1.5 characters per token means for a price; the ratio itself needs a tokenizer over Chinese text."""
    p = _price_on(inp.book, "doubao-pro-32k", DOUBAO_DAY)
    parts = [f"{fmt.given(ARTICLE_CHARS_PER_TOKEN)} characters per token: a price per M tokens is {fmt.ratio(1 / ARTICLE_CHARS_PER_TOKEN)} "
             "that per M characters"]
    if p is not None:
        price = p.input_cny_per_m(inp.opts.fx_cny_per_usd)
        parts.append(f"{p.label} {fmt.given(price)} CNY/M input tokens = {fmt.cny(price / ARTICLE_CHARS_PER_TOKEN)} CNY/M characters;"
                     f" 1 CNY buys {fmt.tokens(cost.tokens_per_cny(price) * ARTICLE_CHARS_PER_TOKEN)} characters")
    parts.append(f"characters per token of a model's tokenizer: {NOT_MEASURED} (rows count tokens, not characters)")
    return "; ".join(parts), basis("assumed (the article's 1.5 characters per token)",
                                   f"computed from prices.yaml (in force {p.since})" if p else "")


def utilization_for_tokens_per_cny(tokens_per_cny_at_full_use: float, target_tokens_per_cny: float) -> float:
    """Tokens per CNY scale with utilisation u (cost per token is 1/u): the u at which a run buys the target."""
    return target_tokens_per_cny / tokens_per_cny_at_full_use


def self_hosted_30k_claim(inp: ClaimInputs) -> tuple[str, str]:
    """The utilisation at which each priced configuration falls to the article's ~30,000 tokens per CNY
    (blended at the report's mix, the definition of every tokens-per-CNY figure)."""
    target = ARTICLE_SELF_HOSTED_TOKENS_PER_CNY
    shown = [p for p in inp.best if p.cost.tokens_per_cny_blended][:4]
    if not shown:
        return f"self-hosted: {NOT_MEASURED} (no priced row; pass --hardware)", NOT_MEASURED
    parts = []
    for p in shown:
        full = p.cost.tokens_per_cny_blended
        u = utilization_for_tokens_per_cny(full, target)
        at = f"{fmt.pct(u)} utilisation" if u <= 1 else "below it even at 100%"
        parts.append(f"{p.label}: {fmt.tokens(full)} at 100% -> {fmt.tokens(target)} at {at}")
    return (f"tokens per CNY blended {cost.format_mix(inp.opts.mix)} x utilisation = 30,000: " + "; ".join(parts),
            basis(f"computed from hardware.yaml ({shown[0].cost.basis})", _source([p.run for p in shown])))


ADDED_CLAIMS = (
    ("DeepSeek-V2's KV cache is 1/5 to 1/100 of a dense model of its class", kv_fraction_claim),
    ("Doubao-pro prices are 99.3% (32k) and 95.8% (128k) below the industry's", doubao_cut_claim),
    ("DeepSeek-V2's API costs about 1/100 of GPT-4 Turbo's", deepseek_gpt4_claim),
    ("1K tokens are about 1,500 Chinese characters", chars_per_token_claim),
    ("Self-hosting Llama buys about 30,000 tokens per CNY", self_hosted_30k_claim),
)
