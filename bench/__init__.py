"""bench: what does a million tokens cost on your own GPUs, measured with vLLM.

Importing this package is cheap: vllm and torch are imported only inside the
engine subprocess (see bench.worker), never by the CLI process or unit tests.
"""

__version__ = "0.1.0"
