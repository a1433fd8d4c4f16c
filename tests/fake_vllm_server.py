"""Stands in for `python -m vllm.entrypoints.openai.api_server` in the server-lifecycle tests:
takes the same options, serves tests/fake_openai.FakeOpenAI on --port, and starts one child
process (as vLLM starts its engine core) so the tests can see the whole group is stopped.

FAKE_SERVER_MODE: ok (default) | exit (a root-cause error in the log, exit 1) | hang (never healthy).
FAKE_SERVER_PIDS: a file that gets this process's and its child's pids.
FAKE_SERVER_SESSION: a file that gets this process's session id and process group id.
FAKE_TOKEN_DELAY: seconds between two streamed tokens (default 0.002).
FAKE_SERVER_DEVICE: the device its log names (default cpu; cuda stands in for the GPU build).
Like vLLM's server, it refuses to start with VLLM_ENABLE_V1_MULTIPROCESSING=0 (its engine core needs a process).
"""

import os
import subprocess
import sys
import time


def main() -> int:
    port = int(sys.argv[sys.argv.index("--port") + 1])
    mode = os.environ.get("FAKE_SERVER_MODE", "ok")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    if os.environ.get("FAKE_SERVER_PIDS"):
        with open(os.environ["FAKE_SERVER_PIDS"], "w") as f:
            f.write(f"{os.getpid()} {child.pid}\n")
    if os.environ.get("FAKE_SERVER_SESSION"):
        with open(os.environ["FAKE_SERVER_SESSION"], "w") as f:
            f.write(f"{os.getsid(0)} {os.getpgid(0)}\n")
    print(f"INFO starting fake server device_config={os.environ.get('FAKE_SERVER_DEVICE', 'cpu')}", flush=True)
    print("INFO CPU KV cache size: 1,024 tokens, Maximum concurrency for 256 tokens per request: 4.00x", flush=True)
    if os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING") == "0":  # vllm/v1/engine/core_client.py's refusal
        print("NotImplementedError: Running EngineCore in asyncio without multiprocessing is not currently "
              "supported.", flush=True)
        return 1
    if mode == "exit":
        print("ValueError: the fake engine cannot start (as asked)", flush=True)
        return 1
    if mode == "hang":
        time.sleep(600)
        return 0
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fake_openai import FakeOpenAI

    with FakeOpenAI(port=port, token_delay_s=float(os.environ.get("FAKE_TOKEN_DELAY", "0.002"))):
        time.sleep(600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
