"""Reading an engine's failure: out-of-memory recognised, vLLM's start-up memory check included."""

from bench.execution.forensics import looks_like_oom, settle_failure
from bench.execution.worker import classify

# vLLM 0.32's message (vllm/v1/worker/utils.py) when the GPU's free memory is below gpu_memory_utilization x total
VLLM_FREE_MEMORY = ("ValueError: Free memory on device cuda:0 (10.5/79.19 GiB) on startup is less than desired GPU "
                    "memory utilization (0.9, 71.27 GiB). Decrease GPU memory utilization or reduce GPU memory used "
                    "by other processes.")


def test_vllms_start_up_free_memory_check_is_oom():
    assert looks_like_oom(VLLM_FREE_MEMORY)
    assert classify(ValueError(VLLM_FREE_MEMORY.removeprefix("ValueError: "))) == "oom"
    assert not looks_like_oom("ValueError: max_model_len 4096 is larger than the model's 2048")


def test_a_failed_case_whose_log_holds_it_becomes_an_oom_row():
    log = "\n".join(["INFO starting", f"(EngineCore pid=7) {VLLM_FREE_MEMORY}",
                     "RuntimeError: Engine core initialization failed. See root cause above."])
    out = settle_failure({"status": "failed", "error": "RuntimeError: Engine core initialization failed."}, log)
    assert out["status"] == "oom" and out["error"].startswith("ValueError: Free memory on device cuda:0")
