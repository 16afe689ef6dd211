"""metrics.json: one writer for every frontend, tolerant readers, EndReason round trips."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.config import RunConfig
from model.events import EndReason, RunFinished
from model.results import DataInfo, RunResult
from model.runfolder.metrics import (
    data_from_metrics,
    end_reason_from_metrics,
    evaluation_from_metrics,
    run_metrics,
    steps_from_metrics,
)

pytest.importorskip("keras")  # library_versions() reports Keras's and TensorFlow's versions


def result(reason: EndReason = EndReason.COMPLETED, data: DataInfo | None = None) -> RunResult:
    return RunResult(
        run_id=1,
        config=RunConfig(seed=11),
        model=None,
        history=[],
        finished=RunFinished(1, reason, "done", 3),
        evaluation=None,
        layer_names=("L2_Dense",),
        steps_per_epoch=7,
        data=data,
        best_epoch=2,
    )


def through_json(metrics: dict[str, Any]) -> dict[str, Any]:
    loaded = json.loads(json.dumps(metrics, indent=2))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("reason", list(EndReason))
def test_end_reason_round_trips_through_metrics_json(reason: EndReason) -> None:
    text = json.dumps(run_metrics(result(reason)))
    assert f'"reason": "{reason.value}"' in text
    metrics = json.loads(text)
    assert metrics["finished"]["reason"] == reason.value == reason
    assert end_reason_from_metrics(metrics) is reason


def test_end_reason_is_its_plain_string() -> None:
    assert EndReason.EARLY_STOPPING == "early_stopping"
    assert f"{EndReason.NAN}" == str(EndReason.NAN) == "nan"
    assert EndReason("stopped") is EndReason.STOPPED


@pytest.mark.parametrize("metrics", [{}, {"finished": None}, {"finished": {"reason": "exploded"}}, {"finished": {"reason": 3}}])
def test_an_unknown_end_reason_reads_as_completed(metrics: dict[str, Any]) -> None:
    assert end_reason_from_metrics(metrics) is EndReason.COMPLETED


def test_metrics_carry_steps_per_epoch_and_the_dataset() -> None:
    data = DataInfo("digits", "scikit-learn's digits", "train 240 · validation 30 · test 30")
    metrics = through_json(run_metrics(result(data=data)))
    assert metrics["steps_per_epoch"] == 7 and steps_from_metrics(metrics) == 7
    assert metrics["dataset"] == {"name": "digits", "source": "scikit-learn's digits", "split": data.description}
    assert data_from_metrics(metrics) == data
    assert metrics["finished"] == {"reason": "completed", "message": "done", "epochs_completed": 3, "best_epoch": 3}
    assert metrics["seed"] == 11 and metrics["layer_names"] == ["L2_Dense"]
    assert metrics["test_accuracy"] is None and "per_class" not in metrics


def test_the_same_keys_with_or_without_a_dataset() -> None:
    # The window's runs may not say which data they had; the file has the same shape.
    without = through_json(run_metrics(result()))
    with_data = through_json(run_metrics(result(data=DataInfo("mnist", "MNIST", "train 1"))))
    assert set(without) == set(with_data)
    assert without["dataset"] is None and data_from_metrics(without) is None


@pytest.mark.parametrize("steps", [None, 0, -3, 2.5, "8", True])
def test_odd_steps_per_epoch_read_as_unknown(steps: object) -> None:
    assert steps_from_metrics({"steps_per_epoch": steps}) is None


def test_evaluation_from_metrics_reads_the_table_and_refuses_junk() -> None:
    metrics = {
        "test_accuracy": 0.5,
        "test_loss": 0.7,
        "per_class": [
            {"class": "a", "precision": 1.0, "recall": 0.5, "accuracy": 0.5, "support": 2},
            {"class": "b", "precision": 0.0, "recall": 0.0, "accuracy": 0.0, "support": 0},
        ],
        "confusion_matrix": [[1, 1], [0, 0]],
    }
    evaluation = evaluation_from_metrics(metrics)
    assert evaluation is not None and evaluation.class_names == ("a", "b")
    assert evaluation.confusion.tolist() == [[1, 1], [0, 0]]
    assert evaluation_from_metrics({}) is None
    assert evaluation_from_metrics(json.loads(json.dumps(metrics | {"confusion_matrix": [[1]]}))) is None


def test_an_evaluated_run_writes_its_table() -> None:
    from model.evaluation import evaluate_predictions

    y = np.array([0, 1, 1])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32)
    evaluation = evaluate_predictions(y, probabilities, ("a", "b"), "crossentropy")
    metrics = through_json(run_metrics(dataclasses.replace(result(), evaluation=evaluation)))
    again = evaluation_from_metrics(metrics)
    assert again is not None and again.accuracy == pytest.approx(2 / 3)
    assert again.confusion.tolist() == evaluation.confusion.tolist()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
keys = st.sampled_from(["finished", "dataset", "steps_per_epoch", "per_class", "confusion_matrix", "test_accuracy", "test_loss"])


@given(st.dictionaries(keys, json_values, max_size=7))
def test_the_readers_take_any_json(metrics: dict[str, Any]) -> None:
    assert isinstance(end_reason_from_metrics(metrics), EndReason)
    steps_from_metrics(metrics)
    data_from_metrics(metrics)
    evaluation_from_metrics(metrics)
