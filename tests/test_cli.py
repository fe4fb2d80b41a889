"""The installed `model-finetune` command, end to end on a tiny random BERT and a toy CSV, as a user runs it.

Each bad input must end the process with exit code 2 and exactly one line on stderr, and write nothing.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from model_finetune.data import toy_frame
from model_finetune.heads import tiny_backbone

CMD = str(Path(sys.executable).parent / "model-finetune")  # the command installed next to this Python


def cli(*args, env=None):
    return subprocess.run([CMD, *map(str, args)], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    "A tiny backbone, a toy CSV with non-default column names, and one trained output folder."
    d = tmp_path_factory.mktemp("cli")
    tiny_backbone(d / "tiny", toy_frame().text.tolist())
    toy_frame().rename(columns={"text": "review", "label": "sentiment"}).to_csv(d / "toy.csv", index=False)
    r = cli("train", "--model", d / "tiny", "--dataset", d / "toy.csv", "--text-column", "review", "--label-column", "sentiment",
            "--epochs", 3, "--batch-size", 4, "--lr", 1e-3, "--output-dir", d / "out")
    assert r.returncode == 0, r.stderr
    return d


def test_train_writes_a_loadable_model_and_metrics(work):
    m = json.loads((work / "out/metrics.json").read_text())
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix", "train_seconds"} <= set(m)
    assert set(m["per_class"]) == {"negative", "positive"} and 0 <= m["accuracy"] <= 1
    assert (work / "out/confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    model = AutoModelForSequenceClassification.from_pretrained(work / "out")
    assert model.config.id2label == {0: "negative", 1: "positive"}


def test_integer_labels_become_names_in_the_config(work):
    "Labels -1/1 in a file are classes '-1' and '1' (ids 0 and 1) in the saved model, and predictions use those names."
    toy_frame().assign(label=lambda d: d.label.map({"negative": -1, "positive": 1})).to_csv(work / "ints.csv", index=False)
    r = cli("train", "--model", work / "tiny", "--dataset", work / "ints.csv", "--epochs", 1, "--batch-size", 8, "--output-dir", work / "ints")
    assert r.returncode == 0, r.stderr
    assert AutoModelForSequenceClassification.from_pretrained(work / "ints").config.id2label == {0: "-1", 1: "1"}
    r = cli("predict", work / "ints", "a wonderful, moving film")
    assert r.returncode == 0 and r.stdout.split("\t")[0] in ("-1", "1"), r.stderr


def test_predict_prints_label_and_probability(work):
    r = cli("predict", work / "out", "a wonderful, moving film", "a dull, lifeless mess")
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.strip().splitlines()]
    assert [row[2] for row in rows] == ["a wonderful, moving film", "a dull, lifeless mess"]
    assert all(row[0] in ("negative", "positive") and 0.5 <= float(row[1]) <= 1.0 for row in rows)


def test_evaluate_prints_and_writes_metrics(work):
    "On the training file (or a copy of it), evaluate scores its test split (the rows the model never saw); on another file, every row."
    m = json.loads((work / "out/metrics.json").read_text())
    for args in ([], ["--dataset", work / "toy.csv", "--text-column", "review", "--label-column", "sentiment", "--overwrite"]):  # [] : the run's own; the same file again
        r = cli("evaluate", work / "out", *args)
        assert r.returncode == 0 and "accuracy" in r.stdout, r.stderr
        e = json.loads((work / "out/eval-toy-test.json").read_text())
        assert (e["split"], e["n"], e["confusion_matrix"]) == ("test", m["n"], m["confusion_matrix"])
    (work / "copy.csv").write_bytes((work / "toy.csv").read_bytes())  # the training file under another name: its rows are training rows
    r = cli("evaluate", work / "out", "--dataset", work / "copy.csv")
    assert r.returncode == 0 and "has the same bytes as the file the model was trained on" in r.stderr, r.stderr
    assert json.loads((work / "out/eval-copy-test.json").read_text())["confusion_matrix"] == m["confusion_matrix"]
    header, *rows = (work / "toy.csv").read_text().splitlines()
    (work / "other.csv").write_text("\n".join([header, *rows[::-1]]) + "\n")  # other bytes: another file
    r = cli("evaluate", work / "out", "--dataset", work / "other.csv", "--text-column", "review", "--label-column", "sentiment")
    assert r.returncode == 0 and json.loads((work / "out/eval-other-all.json").read_text())["n"] == 24, r.stderr


def test_overwrite_replaces_only_an_earlier_run(work, tmp_path):
    "--overwrite replaces a run folder; never a folder of other files, the working folder, or one holding the dataset."
    (tmp_path / "mine").mkdir(); (tmp_path / "mine/notes.txt").write_text("keep me")
    args = ["train", "--model", work / "tiny", "--dataset", work / "toy.csv", "--text-column", "review", "--label-column", "sentiment",
            "--epochs", 1, "--batch-size", 8]
    r = cli(*args, "--output-dir", tmp_path / "mine", "--overwrite")
    assert r.returncode == 2 and "not the folder of an earlier run" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    r = subprocess.run([CMD, *map(str, args), "--output-dir", ".", "--overwrite"], capture_output=True, text=True, timeout=300, cwd=tmp_path / "mine")
    assert r.returncode == 2 and "which the run needs or runs in" in r.stderr, r.stderr
    r = cli(*args, "--output-dir", work, "--overwrite")
    assert r.returncode == 2 and "which the run needs or runs in" in r.stderr, r.stderr
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"] and (work / "toy.csv").exists()
    (tmp_path / "other").mkdir(); (tmp_path / "other/metrics.json").write_text('{"eval_accuracy": 0.9}')  # another tool's metrics
    r = cli(*args, "--output-dir", tmp_path / "other", "--overwrite")
    assert r.returncode == 2 and "not the folder of an earlier run" in r.stderr and [p.name for p in (tmp_path / "other").iterdir()] == ["metrics.json"], r.stderr
    (tmp_path / "run").mkdir(); (tmp_path / "run/metrics.json").write_text('{"args": {}, "label_names": []}')  # as every train writes
    r = cli(*args, "--output-dir", tmp_path / "run", "--overwrite")
    assert r.returncode == 0 and (tmp_path / "run/model.safetensors").exists(), r.stderr


@pytest.mark.parametrize("flag", ["--epochs", "--batch-size", "--max-length", "--max-train-samples"])
def test_counts_must_be_positive(work, flag):
    r = cli("train", "--model", work / "tiny", "--dataset", work / "toy.csv", "--output-dir", work / "bad", flag, "0")
    assert r.returncode == 2 and "'0' is not a whole number above 0" in r.stderr, r.stderr
    assert not (work / "bad").exists()


BAD = {  # name: (arguments after the command, text expected in the one-line error)
    "unknown dataset": (["--dataset", "rotten_potatoes"], "Unknown dataset"),
    "missing text column": (["--dataset", "{d}/toy.csv"], "No text column 'text'"),
    "missing label column": (["--dataset", "{d}/toy.csv", "--text-column", "review"], "No label column 'label'"),
    "empty csv": (["--dataset", "{d}/empty.csv"], "is empty"),
    "text not a string": (["--dataset", "{d}/numbers.jsonl"], "not a string"),
    "missing file": (["--dataset", "{d}/nope.csv"], "No such file"),
    "a folder": (["--dataset", "{d}/folder.csv"], "is a folder, not a file"),
    "not UTF-8": (["--dataset", "{d}/latin.csv"], "is not UTF-8 text"),
    "longer than the model": (["--dataset", "{d}/toy.csv", "--text-column", "review", "--label-column", "sentiment", "--max-length", "129"],
                              "use --max-length 128 or less"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_training_input_is_one_line_and_writes_nothing(work, case):
    (work / "empty.csv").write_text("")
    toy_frame().assign(text=[3] + toy_frame().text.tolist()[1:]).to_json(work / "numbers.jsonl", orient="records", lines=True)
    (work / "folder.csv").mkdir(exist_ok=True); (work / "latin.csv").write_bytes("text,label\ncafé,positive\n".encode("latin-1"))
    args, expected = BAD[case]
    r = cli("train", "--model", work / "tiny", *[a.format(d=work) for a in args], "--output-dir", work / "bad")
    assert r.returncode == 2 and expected in r.stderr and r.stderr.count("\n") == 1, (r.returncode, r.stderr)
    assert not (work / "bad").exists() and not list(work.glob(".bad.partial-*"))


def test_hub_id_offline(work):
    r = cli("train", "--model", "someone/some-model", "--dataset", work / "toy.csv", "--text-column", "review",
            "--label-column", "sentiment", "--output-dir", work / "bad", env={"HF_HUB_OFFLINE": "1"})
    assert r.returncode == 2 and "cannot be reached" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (work / "bad").exists()


def test_non_empty_output_dir_is_kept(work):
    (work / "mine").mkdir(exist_ok=True); (work / "mine/notes.txt").write_text("keep me")
    r = cli("train", "--model", work / "tiny", "--dataset", work / "toy.csv", "--output-dir", work / "mine")
    assert r.returncode == 2 and "--overwrite" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert [p.name for p in (work / "mine").iterdir()] == ["notes.txt"]


def test_model_dir_without_classifier(work):
    for args in (["predict", work / "tiny", "some text"], ["evaluate", work / "tiny", "--dataset", work / "toy.csv"]):
        r = cli(*args)
        assert r.returncode == 2 and "without a classification head" in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_unknown_label_at_evaluation(work):
    toy_frame().assign(label=["meh"] + toy_frame().label.tolist()[1:]).to_csv(work / "odd.csv", index=False)
    r = cli("evaluate", work / "out", "--dataset", work / "odd.csv")
    assert r.returncode == 2 and "label outside ['negative', 'positive'] (first at data row 1: 'meh')" in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_doctor_reports_torch_and_exits_by_its_problems():
    "`model-finetune doctor` prints torch's version and exits 0 with no problem listed, 1 with at least one."
    r = cli("doctor", env={"PIP_INDEX_URL": "http://127.0.0.1:9/simple/"})  # a missing asset must not send the test online
    assert f"  {torch.__version__}" in r.stdout, (r.stdout, r.stderr)
    last = r.stdout.rstrip().splitlines()[-1]
    assert (r.returncode, last) == (0, "No problems found.") or (r.returncode == 1 and last.endswith("see the lines marked !!")), (r.returncode, r.stdout)
    assert (r.returncode == 1) == ("\n!!  " in r.stdout)
