import contextlib
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


@pytest.fixture
def killed_in_epoch_2(monkeypatch):
    """A context in which training is killed (KeyboardInterrupt, which it must raise) at its second
    validation pass, after epoch 1's checkpoint; outside it, validation is real again."""
    import training.loop as loop

    @contextlib.contextmanager
    def kill():
        real, calls = loop.evaluate, {"n": 0}

        def evaluate(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(loop, "evaluate", evaluate)
        try:
            with pytest.raises(KeyboardInterrupt):
                yield
        finally:
            monkeypatch.setattr(loop, "evaluate", real)
    return kill


@pytest.fixture(scope="session")
def fixtures():
    return FIXTURES
