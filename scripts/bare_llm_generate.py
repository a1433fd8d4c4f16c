"""A bare `LLM.generate`, written without any of bench's code: the baseline scripts/bench_overhead.py holds the
harness against. Its own prompts (random token ids, seeded), its own sampling parameters (those of `vllm bench
throughput`: temperature 1, top_p 1, ignore_eos, exact output lengths), vLLM's own defaults for everything the
flags below do not set. Prints one line: BARE_RESULT {"output_tok_s": ..., "elapsed_s": ..., "output_tokens": ...}

    python scripts/bare_llm_generate.py --model DIR --dtype float32 --max-num-seqs 16 --num-prompts 16 \\
        --input-len 128 --output-len 64 --max-model-len 1024 --kv-cache-gb 2 [--eager] [--dummy]
"""

import argparse
import json
import random
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="a directory with config.json (and weights unless --dummy)")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--max-num-seqs", type=int, required=True)
    ap.add_argument("--num-prompts", type=int, default=16)
    ap.add_argument("--input-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=64)
    ap.add_argument("--max-model-len", type=int, default=1024)
    ap.add_argument("--kv-cache-gb", type=float, default=None, help="CPU build: KV-cache size")
    ap.add_argument("--eager", action="store_true", help="enforce_eager (bench's default on CPU)")
    ap.add_argument("--dummy", action="store_true", help="random weights (load_format=dummy)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    vocab = json.loads((Path(a.model) / "config.json").read_text())["vocab_size"]
    rng = random.Random(a.seed)
    prompts = [[rng.randrange(100, vocab - 100) for _ in range(a.input_len)] for _ in range(a.num_prompts)]
    warm = [[rng.randrange(100, vocab - 100) for _ in range(a.input_len)] for _ in range(min(a.max_num_seqs, a.num_prompts))]

    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    args = dict(model=a.model, dtype=a.dtype, max_model_len=a.max_model_len, max_num_seqs=a.max_num_seqs,
                seed=a.seed, enable_prefix_caching=False, skip_tokenizer_init=True, enforce_eager=a.eager)
    if a.dummy:
        args["load_format"] = "dummy"
    if a.kv_cache_gb:
        args["kv_cache_memory_bytes"] = int(a.kv_cache_gb * 2**30)
    llm = LLM(**args)

    def params(n: int, out_len: int):
        return [SamplingParams(max_tokens=out_len, ignore_eos=True, detokenize=False, temperature=1.0, top_p=1.0)
                for _ in range(n)]

    llm.generate([TokensPrompt(prompt_token_ids=p) for p in warm], params(len(warm), 8), use_tqdm=False)
    t0 = time.perf_counter()
    outs = llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], params(len(prompts), a.output_len),
                        use_tqdm=False)
    elapsed = time.perf_counter() - t0
    n_out = sum(len(o.outputs[0].token_ids) for o in outs)
    print("BARE_RESULT", json.dumps({"output_tok_s": n_out / elapsed, "elapsed_s": elapsed, "output_tokens": n_out}),
          flush=True)


if __name__ == "__main__":
    main()
