"""A bare `LLM.generate` on the engine args and prompts bench would use: the overhead baseline.

Usage: python scripts/bare_generate.py SPEC.json  -> prints one JSON line {output_tok_s, elapsed_s, ...}
SPEC.json is what bench.execution.case hands its worker. vLLM's own defaults apply where bench sets
something for measurement (stats logging stays off here, as in a plain script).
"""

import json
import sys
import time

from bench.engines.base import EngineSpec
from bench.engines.vllm_offline import VllmOfflineEngine
from bench.execution.worker import case_requests


def main() -> None:
    spec = EngineSpec(**json.load(open(sys.argv[1])))
    engine = VllmOfflineEngine(spec)
    engine.check()  # sets the device, which picks eager mode the same way bench does
    args = engine.engine_args()
    args.pop("disable_log_stats")  # vLLM's default: no per-request stats

    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    llm = LLM(**args)
    reqs, warm = case_requests(spec)  # exactly the prompts and warm-up bench's worker uses

    def params(rs):
        return [SamplingParams(max_tokens=r.output_len, ignore_eos=True, detokenize=False, temperature=1.0, top_p=1.0)
                for r in rs]

    llm.generate([TokensPrompt(prompt_token_ids=r.prompt_token_ids) for r in warm], params(warm), use_tqdm=False)
    prompts = [TokensPrompt(prompt_token_ids=r.prompt_token_ids) for r in reqs]
    t0 = time.perf_counter()
    outs = llm.generate(prompts, params(reqs), use_tqdm=False)
    elapsed = time.perf_counter() - t0
    n_out = sum(len(o.outputs[0].token_ids) for o in outs)
    print("BARE_RESULT", json.dumps({"output_tok_s": n_out / elapsed, "elapsed_s": elapsed, "output_tokens": n_out}))


if __name__ == "__main__":
    main()
