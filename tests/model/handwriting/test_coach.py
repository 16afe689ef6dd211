"""model.handwriting.coach: scoring the set off the session's thread, and Teach it through the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from model.handwriting import CoachState, Drawing, HandwritingCoach, HandwritingSet, Score, teach_config
from model.runner import ThreadRunner
from tests.model.handwriting.test_store import digit
from tests.model.session.fakes import Harness, make_harness
from tests.model.session.test_document import TINY

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class NumpyPredictor:
    """Reads every drawing as ``answer(x)`` (default: class 7), in the calling thread or later."""

    input_shape = (28, 28, 1)

    def __init__(self, answer: Callable[[np.ndarray], np.ndarray] | None = None, *, defer: bool = False) -> None:
        self.answer = answer or (lambda x: np.eye(10, dtype=np.float32)[np.full(len(x), 7)])
        self.defer = defer
        self.pending: list[tuple[np.ndarray, Future[np.ndarray]]] = []
        self.calls = 0

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        self.calls += 1
        future: Future[np.ndarray] = Future()
        if self.defer:
            self.pending.append((x, future))
        else:
            future.set_result(self.answer(x))
        return future

    def answer_pending(self) -> None:
        for x, future in self.pending:
            future.set_result(self.answer(x))
        self.pending.clear()


class Coached:
    def __init__(self, h: Harness, folder: Path) -> None:
        self.h = h
        self.states: list[CoachState] = []
        self.coach = HandwritingCoach(h.session, HandwritingSet(folder), self.states.append)

    @property
    def state(self) -> CoachState:
        return self.coach.state

    def label(self, index: int, answer: str | None = "7", seed: int = 0) -> Path | None:
        read = None if answer is None else (answer, 0.9)
        return self.coach.add(Drawing(digit(seed=seed), answer=read), index)

    def settle(self) -> CoachState:
        self.h.until(lambda: not self.state.scoring)
        return self.state


@pytest.fixture
def c(tmp_path: Path) -> Iterator[Coached]:
    h = make_harness(tmp_path)
    yield Coached(h.ready(), tmp_path / "handwriting")
    h.session.shutdown()


def test_without_a_model_there_is_no_score_and_teach_says_why(c: Coached) -> None:
    c.coach.use_model(None, [str(k) for k in range(10)])
    assert c.state.score is None and not c.state.scoring
    assert c.state.teach_reason == "Train a model or open a run folder first."
    c.label(3)
    assert c.state.count == 1 and c.state.message == "Saved as 3 (it read 7)." and c.state.score is None


def test_the_model_in_use_is_scored_on_the_set(c: Coached) -> None:
    predictor = NumpyPredictor()
    c.coach.use_model(predictor, [str(k) for k in range(10)])
    assert c.state.score is None  # nothing to read yet
    assert c.label(7) is not None and c.state.message == "Saved as 7 (right)."
    c.label(7, seed=1)
    c.label(2)
    state = c.settle()
    assert state.score == Score(2, 3, 0, (("2", "7"),))
    assert state.score.describe() == "2 of 3" and state.counts == (("2", 1), ("7", 2))


def test_an_answer_to_an_older_question_is_dropped(c: Coached) -> None:
    slow = NumpyPredictor(defer=True)
    c.coach.use_model(slow, [str(k) for k in range(10)])
    c.label(7)
    c.h.until(lambda: len(slow.pending) == 1)
    right_now = NumpyPredictor(lambda x: np.eye(10, dtype=np.float32)[np.full(len(x), 1)])
    c.coach.use_model(right_now, [str(k) for k in range(10)])
    state = c.settle()
    assert state.score == Score(0, 1, 0, (("7", "1"),))
    slow.answer_pending()  # the old model's answer: too late
    c.h.pump()
    assert c.state.score == Score(0, 1, 0, (("7", "1"),))


def test_drawings_of_classes_the_model_lacks_are_counted_apart(c: Coached) -> None:
    c.coach.use_model(NumpyPredictor(), [str(k) for k in range(10)])
    c.label(7)
    c.label(3)
    c.coach.use_model(NumpyPredictor(lambda x: np.eye(7, dtype=np.float32)[np.full(len(x), 3)]), [str(k) for k in range(7)])
    assert c.settle().score == Score(1, 1, 1)  # the 3 is read right; this model has no 7
    c.coach.use_model(NumpyPredictor(lambda x: np.eye(3, dtype=np.float32)[np.zeros(len(x), int)]), ["a", "b", "c"])
    assert c.settle().score == Score(0, 0, 2) and c.state.score.describe() == "no drawings"


def test_a_failing_predictor_is_said_and_a_run_that_ended_is_not(c: Coached) -> None:
    def broken(x: np.ndarray) -> np.ndarray:
        raise RuntimeError("the weights have diverged")

    c.label(7)
    c.coach.use_model(NumpyPredictor(broken), [str(k) for k in range(10)])
    state = c.settle()
    assert state.error and "the weights have diverged" in state.message and state.score is None

    def ended(x: np.ndarray) -> np.ndarray:
        raise RuntimeError("the run ended before the prediction was served")

    c.coach.use_model(NumpyPredictor(ended), [str(k) for k in range(10)])
    assert not c.settle().error


def test_refresh_scores_again_when_the_set_changed_on_disk(c: Coached) -> None:
    predictor = NumpyPredictor()
    c.coach.use_model(predictor, [str(k) for k in range(10)])
    path = c.label(7)
    c.settle()
    calls = predictor.calls
    c.coach.refresh()
    c.h.pump()
    assert predictor.calls == calls  # nothing changed, nothing asked
    assert path is not None
    path.unlink()
    path.with_suffix(".json").unlink()
    c.label(2)
    c.coach.refresh()
    assert c.settle().score == Score(0, 1, 0, (("2", "7"),))


def test_clear_and_export_say_what_they_did(c: Coached, tmp_path: Path) -> None:
    c.coach.use_model(NumpyPredictor(), [str(k) for k in range(10)])
    c.label(7)
    c.label(1)
    assert c.coach.export_to(tmp_path / "copy") == 2 and c.state.message == f"Exported 2 drawings to {tmp_path / 'copy'}."
    assert c.coach.export_to(tmp_path / "copy") is None and c.state.error
    cleared = c.coach.clear()
    assert cleared is not None and cleared.removed == 2
    assert c.state.message == "Deleted 2 drawings." and c.state.count == 0 and c.state.score is None


def _finish_first_run(c: Coached) -> None:
    h = c.h
    h.session.edit(TINY)
    h.session.train()
    h.pump()
    h.runner.last.end()
    h.pump()
    memory = h.session.memory
    assert memory is not None
    memory.predictor = NumpyPredictor()  # the fake run's model cannot read drawings
    c.coach.use_model(memory.predictor, [str(k) for k in range(10)])


def test_teach_needs_drawings_and_a_model_with_optimizer_state(c: Coached) -> None:
    _finish_first_run(c)
    assert c.state.teach_reason.startswith("Label a few drawings first")
    assert not c.h.wait(c.coach.teach())
    c.label(7)
    assert c.settle().teach_reason == ""
    memory = c.h.session.memory
    assert memory is not None and memory.result is not None
    memory.result = type(memory.result)(**{**memory.result.__dict__, "optimizer_state": {}})
    c.coach.refresh()
    assert "no optimizer state" in c.state.teach_reason


def test_teach_resumes_the_model_on_its_data_mixed_with_the_set_and_reports_before_and_after(c: Coached) -> None:
    _finish_first_run(c)
    c.label(7)
    c.label(1)
    assert c.settle().score == Score(1, 2, 0, (("1", "7"),))
    assert c.h.wait(c.coach.teach(share=0.25, epochs=3))
    request = c.h.runner.last.request
    assert request.run_id == 2 and request.resume is not None and request.resume.optimizer_state
    assert request.config == teach_config(TINY, c.coach.store.folder, 0.25, 3)
    assert request.config.data.extra_path == str(c.coach.store.folder) and request.config.data.extra_share == 0.25
    assert request.config.epochs == 3 and request.config.layers == TINY.layers
    assert request.config.name == "tiny + your handwriting"
    c.h.until(lambda: c.state.teaching is not None and c.state.teaching.before is not None)
    assert c.state.teaching.run_id == 2 and c.state.teaching.before == Score(1, 2, 0, (("1", "7"),))
    assert c.state.teach_reason.startswith("A run is in progress")
    # The run trains (its live model is the fake run's) and ends: its model is scored as "after".
    live = NumpyPredictor()
    c.coach.use_model(live, [str(k) for k in range(10)])
    assert c.state.live
    c.h.runner.last.end()
    c.h.pump()
    memory = c.h.session.memory
    assert memory is not None and memory.result is not None and memory.result.run_id == 2
    memory.predictor = NumpyPredictor(lambda x: np.eye(10, dtype=np.float32)[[1, 7][: len(x)]])  # learnt them
    c.coach.use_model(memory.predictor, [str(k) for k in range(10)])
    c.settle()
    report = c.state.teaching
    assert report is not None and report.after == Score(2, 2) and not c.state.live


def test_teaching_runs_end_to_end_with_real_keras(tmp_path: Path) -> None:
    """A real model learns on a few drawings for one epoch; the new run reports before and after."""
    h = make_harness(tmp_path, runner=ThreadRunner())
    try:
        c = Coached(h.ready(), tmp_path / "handwriting")
        names = [str(k) for k in range(10)]
        h.session.edit(TINY)
        h.session.train()
        h.until(lambda: h.session.memory is not None and not h.session.running, timeout=180)
        first = h.session.memory
        assert first is not None
        c.coach.use_model(first.predictor, names)
        for k in range(6):
            c.label(k % 3, answer=None, seed=k)
        assert c.settle().score is not None and c.state.score.total == 6
        assert h.wait(c.coach.teach(share=0.3, epochs=1))
        h.until(lambda: h.session.memory is not first and not h.session.running, timeout=180)
        second = h.session.memory
        assert second is not None and second.result is not None and second.result.run_id == 2
        assert second.result.config.data.extra_path == str(c.coach.store.folder)
        assert len(second.history) == 2  # the first run's epoch, then the taught one
        c.coach.use_model(second.predictor, names)
        h.until(lambda: c.state.teaching is not None and c.state.teaching.after is not None
                and c.state.teaching.before is not None, timeout=60)  # fmt: skip
        report = c.state.teaching
        assert report.before.total == report.after.total == 6
        assert report.before_test is not None and report.after_test is not None  # the digits' test figure
        assert c.state.test_name == report.test_name == "Digits test"
    finally:
        h.session.shutdown()
