import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
# One cache for the whole test session (materialised WordNet, WordNet-WiC, default victims).
os.environ.setdefault("PTP_CACHE", str(ROOT / ".ptp-cache"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def run_cli(module: str, *args, cwd=None, env=None, timeout=600):
    """Run a CLI in a subprocess the way a user would; returns CompletedProcess."""
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def fixtures():
    return FIXTURES
