import json

import pytest

from augment.common.errors import PTPError
from augment.common.sources import load_task_data
from augment.common.tasks import TASKS, get_task

ALL = ("boolq", "cb", "copa", "multirc", "record", "rte", "wic", "wsc")


def test_registry_covers_superglue_with_leaderboard_metrics():
    assert {n for n, t in TASKS.items() if not t.definition} == set(ALL)  # task files register more
    assert get_task("cb").metrics == ("accuracy", "f1_macro")
    assert get_task("multirc").metrics == ("f1a", "em")
    assert get_task("record").metrics == ("f1", "em")
    for task in TASKS.values():
        assert set(task.perturbable) <= set(task.text_fields)
        assert task.template, task.name
    assert {s.field for s in get_task("wic").protected} == {"sentence1", "sentence2"}
    with pytest.raises(PTPError, match="unknown task 'nope'"):
        get_task("nope")


@pytest.mark.parametrize("name", ALL)
def test_each_fixture_loads_in_flat_schema(name, fixtures):
    data, info = load_task_data(name, data_dir=fixtures, log=lambda *_: None)
    assert info.name == "local" and info.fingerprint.startswith("sha256:")
    assert set(data) == {"train", "validation", "test"}
    task = get_task(name)
    for col in task.input_fields:
        assert col in data["train"].column_names
    if task.kind != "record":
        labels = set(data["train"]["label"])
        assert labels <= set(range(task.num_labels)) and len(labels) >= 2
    assert set(data["test"]["label"]) == {-1}


def test_multirc_and_record_are_flattened(fixtures):
    data, _ = load_task_data("multirc", data_dir=fixtures, log=lambda *_: None)
    row = data["validation"][0]
    assert (row["question"], row["answer"], row["label"]) == ("Where does Sara live?", "Paris", 1)
    assert len(set(data["validation"]["question_id"])) == 2
    data, _ = load_task_data("record", data_dir=fixtures, log=lambda *_: None)
    row = data["validation"][0]
    assert row["answers"] == ["Tom Hanks"]
    for ent, span in zip(row["entities"], row["entity_spans"]):  # inclusive ends made exclusive
        assert row["passage"][span["start"]:span["end"]] == ent


def _write(tmp_path, task_dir, rows):
    folder = tmp_path / task_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "train.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


WIC_OK = {"word": "bank", "sentence1": "He sat on the bank.", "sentence2": "A bank loan.", "start1": 14,
          "end1": 18, "start2": 2, "end2": 6, "label": False, "idx": 0}

BAD_ROWS = [
    ("wic", ["{not json"], r"train.jsonl:1: not valid JSON"),
    ("wic", [WIC_OK, {k: v for k, v in WIC_OK.items() if k != "sentence2"}], r"train.jsonl:2: field 'sentence2' is missing"),
    ("wic", [{**WIC_OK, "start1": "14"}], r"train.jsonl:1: field 'start1' should be an integer"),
    ("wic", [{**WIC_OK, "label": "maybe"}], r"field 'label' has label 'maybe', which is not one of"),
    ("wic", [{**WIC_OK, "start1": 3, "end1": 6}], r"field 'start1' offsets 3:6 select 'sat'"),
    ("wic", [{**WIC_OK, "end2": 99}], r"offsets 2:99 fall outside the sentence"),
    ("wsc", [{"text": "Ann met Bob. She smiled.", "label": True, "idx": 0,
              "target": {"span1_index": 1, "span1_text": "Ann", "span2_index": 3, "span2_text": "She"}}],
     r"target.span1_index' = 1 points at 'met', not at 'Ann'"),
    ("cb", [{"premise": "a", "hypothesis": "b", "label": "yes"}], r"not one of \['entailment'"),
    ("copa", [{"premise": "a", "choice1": "b", "choice2": "c", "question": "why", "label": 0}], r"'cause' or 'effect'"),
    ("wic", [], r"the train split is empty"),
    ("wic", ["[1, 2]"], r"expected a JSON object"),
]


@pytest.mark.parametrize("task,rows,message", BAD_ROWS)
def test_bad_rows_name_file_line_and_field(tmp_path, task, rows, message):
    _write(tmp_path, {"wic": "WiC", "wsc": "WSC", "cb": "CB", "copa": "COPA"}[task], rows)
    with pytest.raises(PTPError, match=message):
        load_task_data(task, data_dir=tmp_path, log=lambda *_: None)


def test_missing_folder_and_files(tmp_path):
    with pytest.raises(PTPError, match="data folder not found"):
        load_task_data("rte", data_dir=tmp_path / "nope", log=lambda *_: None)
    with pytest.raises(PTPError, match="none of train.jsonl"):
        load_task_data("rte", data_dir=tmp_path, log=lambda *_: None)
    with pytest.raises(PTPError, match="--source wordnet builds wic only, not rte"):
        load_task_data("rte", source="wordnet", log=lambda *_: None)
    with pytest.raises(PTPError, match="unknown source"):
        load_task_data("rte", source="ftp", log=lambda *_: None)


def test_fewglue_folder_is_read(tmp_path, fixtures):
    folder = tmp_path / "RTE"
    folder.mkdir()
    lines = (fixtures / "RTE" / "train.jsonl").read_text().splitlines()
    (folder / "train.jsonl").write_text("\n".join(lines[:4]) + "\n")
    (folder / "unlabeled.jsonl").write_text((fixtures / "RTE" / "test.jsonl").read_text())
    data, _ = load_task_data("rte", data_dir=tmp_path, log=lambda *_: None)
    assert set(data) == {"train", "unlabeled"} and len(data["train"]) == 4


def test_hub_rows_map_to_the_same_schema():
    from augment.common.hub_data import hub_row_to_flat

    row = {"paragraph": "p", "question": "q", "answer": "a", "idx": {"paragraph": 3, "question": 1, "answer": 7}, "label": 1}
    assert hub_row_to_flat(get_task("multirc"), row) == {"paragraph": "p", "question": "q", "answer": "a",
                                                         "label": 1, "question_id": "3-1", "idx": 7}
