"""docs/python.md's code blocks run, in order, in one namespace (the packaged MiniLM, 32 sentiment
examples): the page cannot drift from the API."""
import re

import pytest

from tests.conftest import ROOT, fetched_or_skipped


@pytest.mark.slow
def test_the_python_page_runs(tmp_path, monkeypatch):
    from augment.common.sources import load_task_data

    fetched_or_skipped(lambda: load_task_data("sentiment", log=lambda *_: None), "the shipped sentiment set")
    monkeypatch.chdir(tmp_path)
    page = (ROOT / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) >= 5
    namespace = {}
    for block in blocks:
        exec(compile(block.replace("/tmp/ptp-trainer", str(tmp_path / "trainer")), "docs/python.md", "exec"), namespace)
    assert namespace["trainer"].ptp_history and namespace["loss"].finite is not None
    assert len(namespace["pairs"]) == 8 and namespace["batch"]["perturbed_input_ids"].shape[0] == 4
