"""bench: what does a million tokens cost on your own GPUs, measured with vLLM.

Importing this package is cheap: vllm and torch are imported only inside the
engine subprocess (see bench.execution.worker), never by the CLI process or unit tests.
"""

from pathlib import Path

__version__ = "0.1.0"

# The checkout bench runs from: models.yaml, hardware.yaml, prices.yaml and model_configs/ live here.
REPO_ROOT = Path(__file__).resolve().parent.parent
