"""vLLM's OpenAI-compatible server as a child process on loopback, for `bench serve`.

`python -m vllm.entrypoints.openai.api_server` (the `vllm` console script does not work with the
CPU build) on 127.0.0.1 and a free port, in its own process group with its output in a log file.
`start()` returns once `/health` answers 200, and fails with the server's root-cause error when the
process exits first or the deadline passes. `stop()` takes down the whole group (API server, engine
core, workers): SIGTERM, then SIGKILL after a grace period. On Linux the server also gets SIGTERM
should bench itself die without running its cleanup (PR_SET_PDEATHSIG).

Nothing here imports vllm: the parent stays light, and the device is read back from the server's log.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.config.run import RunConfig
from bench.engines.vllm_args import cli_args, engine_options
from bench.execution.forensics import root_cause
from bench.execution.process import kill_group, own_group_dying_with_parent

SERVER_MODULE = "vllm.entrypoints.openai.api_server"
HEALTH_POLL_S = 0.5
PORT_ATTEMPTS = 3
ADDRESS_IN_USE = "address already in use"
IN_PROCESS_ENGINE_ENV = "VLLM_ENABLE_V1_MULTIPROCESSING"  # "0": the engine core in the caller's process


class ServerFailed(Exception):
    def __init__(self, message: str, status: str = "failed") -> None:
        super().__init__(message)
        self.status = status  # failed | timeout | oom


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def server_args(run: RunConfig, load_path: str, load_format: str, served_name: str, device: str, port: int,
                token_prompts: bool, host: str = "127.0.0.1") -> list[str]:
    """The server's command-line options for a resolved case: the engine options
    bench run gives `LLM(...)` (bench/engines/vllm_args.py) as flags, then the server's own."""
    options = engine_options(run, load_path, load_format, device, token_prompts=token_prompts)
    return [*cli_args(options), "--served-model-name", served_name, "--host", host, "--port", str(port)]


def _no_proxy_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class VllmServer:
    def __init__(self, args_for_port, log_path: Path | None, start_timeout_s: float, env: dict | None = None,
                 host: str = "127.0.0.1") -> None:
        self.args_for_port = args_for_port  # port -> the server's options
        self.log_path = log_path  # None: the server's output goes to this terminal (--verbose)
        self.start_timeout_s = start_timeout_s
        self.env = dict(env if env is not None else os.environ)
        # vLLM's API server runs its engine core in a process of its own and crashes at start-up without one
        # ("Running EngineCore in asyncio without multiprocessing is not currently supported"): a user (or a test
        # suite) that exported VLLM_ENABLE_V1_MULTIPROCESSING=0 for offline runs still gets a working server
        self.env.pop(IN_PROCESS_ENGINE_ENV, None)
        self.host = host
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.command: list[str] = []
        self.start_s: float | None = None
        self._opener = _no_proxy_opener()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> "VllmServer":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        t0 = time.perf_counter()
        for attempt in range(PORT_ATTEMPTS):
            self.port = free_port(self.host)
            self._spawn()
            try:
                self._wait_healthy(t0 + self.start_timeout_s)
                self.start_s = time.perf_counter() - t0
                return
            except ServerFailed as e:
                self.stop()
                if ADDRESS_IN_USE not in str(e).lower() or attempt == PORT_ATTEMPTS - 1:
                    raise  # another process took the port between our probe and the server's bind: try another

    def _spawn(self) -> None:
        self.command = [sys.executable, "-m", SERVER_MODULE, *self.args_for_port(self.port)]
        log = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT if log else None, stdin=subprocess.DEVNULL,
                # its own process group (stop() reaches the engine's children too) in bench's session, not a session
                # of its own: Linux shares CPU time between sessions (autogroup), and on 2 cores a server in a session
                # of its own streamed 11-55 of 96 requests at one stream all at once, in bench's session 0
                # (2026-12-07, docs/serve.md "Streams that come all at once")
                env=self.env, preexec_fn=own_group_dying_with_parent,
            )
        finally:
            if log is not None:
                log.close()

    def _wait_healthy(self, deadline: float) -> None:
        while True:
            rc = self.proc.poll()
            if rc is not None:
                how = f"signal {-rc}" if rc < 0 else f"exit code {rc}"
                raise ServerFailed(self._failure(f"the server exited ({how}) before it was ready"))
            if self.healthy():
                return
            if time.perf_counter() >= deadline:
                raise ServerFailed(self._failure(f"the server was not healthy within {self.start_timeout_s:g} s"),
                                   status="timeout")
            time.sleep(HEALTH_POLL_S)

    def healthy(self) -> bool:
        try:
            with self._opener.open(f"{self.base_url}/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def _failure(self, what: str) -> str:
        cause = root_cause(self.log_text())
        if ADDRESS_IN_USE in self.log_text().lower() and not cause:
            cause = ADDRESS_IN_USE
        return f"{cause} ({what})" if cause else what

    def stop(self) -> None:
        if self.proc is None:
            return
        kill_group(self.proc)

    def facts(self) -> dict:
        """What the running server says about itself: device and KV capacity from its log, version from /version."""
        log = self.log_text()
        facts: dict = {}
        if m := re.search(r"device_config=(\w+)", log):
            facts["device"] = m.group(1)
        if m := re.search(r"\b(?:CPU|GPU) KV cache size: ([\d,]+) tokens", log):
            facts["kv_capacity_tokens"] = int(m.group(1).replace(",", ""))
        try:
            with self._opener.open(f"{self.base_url}/version", timeout=5) as r:
                facts["vllm_version"] = json.loads(r.read()).get("version")
        except (OSError, ValueError):
            pass
        return facts
