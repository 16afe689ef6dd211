"""Teaching a model the user's handwriting: label, score, fine-tune, compare.

:class:`HandwritingCoach` is the Qt-free logic behind the Draw tab's "your handwriting"
box. It keeps the user's :class:`~model.handwriting.HandwritingSet` and, for the model the
tab reads with, how well it reads that set (a :class:`~model.handwriting.Score`), next
to its test accuracy. Scores are worked out off the session's thread: the set is read on
the session's background worker, and the model answers through its own
:class:`~model.inference.Predictor` (the Keras worker for the model in memory, the run's
thread for a live one), so the model is only ever touched by the thread that owns it.
Every change (a new model, a new drawing, the set cleared) asks again; an answer to an
older question is dropped (a generation counter, as everywhere in the session).

**Teach it your handwriting** (:meth:`~HandwritingCoach.teach`) is a normal run: the
session resumes the model in memory (weights and optimizer state) with the model's own
configuration, a few epochs, and the set mixed into the training part
(``data.extra_path``, oversampled to ``data.extra_share``; validation and test stay the
dataset's own). It is scored before it starts; the new run's model is scored when the
session makes it the model in memory, and :class:`TeachingReport` holds both figures.

All public methods are called from the session's thread; ``on_state`` is called there too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from model.catalogue import DATASET_CHOICES, data_title
from model.config import EXTRA_SHARE_DEFAULT, EXTRA_SHARE_MAX, RunConfig
from model.errors import ProjectError
from model.tasks import Failure, LatestTask, deliver
from model.words import count

from .score import Score, ScoringBatch, score_answers, scoring_batch
from .store import Cleared, Drawing, HandwritingSet

if TYPE_CHECKING:
    from model.inference import Predictor
    from model.session import RunSession

DEFAULT_EPOCHS: Final = 2
"""Teach it runs this many epochs by default: enough to learn a few dozen drawings."""
MAX_EPOCHS: Final = 50
TAUGHT_SUFFIX: Final = " + your handwriting"
"""Added to the configuration's name of a Teach it run (once)."""


def teach_config(base: RunConfig, folder: Path, share: float = EXTRA_SHARE_DEFAULT, epochs: int = DEFAULT_EPOCHS) -> RunConfig:
    """``base`` (the model's own configuration) fine-tuning on the set in ``folder`` too.

    Raises:
        ConfigError: ``share`` or ``epochs`` out of range (the message names the field).
    """
    data = dataclasses.replace(base.data, extra_path=str(folder), extra_share=share)
    name = base.name if base.name.endswith(TAUGHT_SUFFIX) else f"{base.name}{TAUGHT_SUFFIX}"
    return base.replace(name=name, epochs=epochs, data=data)


@dataclass(frozen=True)
class TeachingReport:
    """A Teach it run: the set's score and the test accuracy before it and after it.

    ``test_name`` says which test set, e.g. ``MNIST test`` (the model's data keeps it).

    ``after`` is ``None`` until the run's model has been scored (or when it ended without
    one); ``run_id`` is the session's id of the run.
    """

    run_id: int
    before: Score | None = None
    after: Score | None = None
    before_test: float | None = None
    after_test: float | None = None
    test_name: str = "test"


@dataclass(frozen=True)
class CoachState:
    """What the "your handwriting" box shows.

    Attributes:
        counts: Drawings per class folder.
        score: How the model in use reads the set (``None``: no model, or not scored yet).
        scoring: Whether a score is being worked out.
        test_accuracy: The model's accuracy on its test set, when known.
        test_name: What that test set is, e.g. ``MNIST test``.
        live: Whether the model in use is a run's, still training.
        teach_reason: Why Teach it cannot start now ("" when it can).
        teaching: The last Teach it run, if any.
        message: What the last action did, or why it failed.
        error: Whether ``message`` is a failure.
    """

    counts: tuple[tuple[str, int], ...] = ()
    score: Score | None = None
    scoring: bool = False
    test_accuracy: float | None = None
    test_name: str = "test"
    live: bool = False
    teach_reason: str = "Train a model or open a run folder first."
    teaching: TeachingReport | None = None
    message: str = ""
    error: bool = False

    @property
    def count(self) -> int:
        return sum(n for _, n in self.counts)


@dataclass
class _Model:
    """The model the Draw tab reads with, as the coach was told."""

    predictor: Predictor | None = None
    class_names: tuple[str, ...] = field(default_factory=lambda: tuple(str(k) for k in range(10)))


class HandwritingCoach:
    """The handwriting set, its score for the model in use, and Teach it; see the module docstring.

    Args:
        session: The run session (its model in memory, runs, workers and dispatch).
        store: The user's handwriting set.
        on_state: Called with the new :class:`CoachState` after every change.
    """

    def __init__(self, session: RunSession, store: HandwritingSet, on_state: Callable[[CoachState], None]) -> None:
        self.session = session
        self.store = store
        self._on_state = on_state
        self._model = _Model()
        self._generation = 0
        self._counts: dict[str, int] = {}
        self._teaching: TeachingReport | None = None
        self._after_for: Predictor | None = None  # the predictor whose score is a teaching's "after"
        self._loads: LatestTask[tuple[int, Predictor, ScoringBatch]] = LatestTask(
            session.background, session.dispatch, self._on_loaded, self._on_load_failed, "reading your handwriting"
        )
        self.state = CoachState()

    # ------------------------------------------------------------------ the model in use

    def use_model(self, predictor: Predictor | None, class_names: Sequence[str]) -> None:
        """The Draw tab reads with ``predictor`` now (``None``: no model): score it."""
        self._model = _Model(predictor, tuple(class_names))
        teaching, memory = self._teaching, self.session.memory
        if (
            teaching is not None
            and teaching.after is None
            and memory is not None
            and memory.result is not None
            and memory.result.run_id == teaching.run_id
            and predictor is memory.predictor
        ):
            self._after_for = predictor
            after_test = memory.evaluation.accuracy if memory.evaluation is not None else None
            self._teaching = dataclasses.replace(teaching, after_test=after_test)
        self._rescore()

    def refresh(self) -> None:
        """Score again when the set changed on disk or the model is a live one; update the state."""
        counts = self._read_counts()
        if counts != self._counts or (self._is_live() and not self.state.scoring):
            self._rescore()
        else:
            self._emit()

    # ------------------------------------------------------------------ the set

    def add(self, drawing: Drawing, index: int) -> Path | None:
        """Save ``drawing`` as class number ``index`` of the model in use; the PNG, or ``None``."""
        names = self._model.class_names
        label = names[index] if 0 <= index < len(names) else str(index)
        try:
            path = self.store.add(drawing, label, index)
        except ProjectError as exc:
            self._emit(str(exc), error=True)
            return None
        read = drawing.answer[0] if drawing.answer is not None else None
        verdict = "right" if read == label else f"it read {read}" if read is not None else "no answer"
        self._rescore(f"Saved as {label} ({verdict}).")
        return path

    def export_to(self, folder: Path) -> int | None:
        """Copy the set to ``folder`` (new or empty); how many drawings, or ``None`` on failure."""
        try:
            copied = self.store.export_to(folder)
        except ProjectError as exc:
            self._emit(str(exc), error=True)
            return None
        self._emit(f"Exported {count(copied, 'drawing')} to {folder}.")
        return copied

    def clear(self) -> Cleared | None:
        """Delete the saved drawings (ask the user first); what was done, or ``None`` on failure."""
        try:
            cleared = self.store.clear()
        except ProjectError as exc:
            self._rescore(str(exc), error=True)
            return None
        kept = f"; {cleared.kept} other files were left in place" if cleared.kept else ""
        self._rescore(f"Deleted {count(cleared.removed, 'drawing')}{kept}.")
        return cleared

    # ------------------------------------------------------------------ teaching

    def teach_reason(self) -> str:
        """Why Teach it cannot start now, in words ("" when it can)."""
        memory = self.session.memory
        state = self.session.action_state()
        if state.running:
            return "A run is in progress; Teach it once it has finished."
        if memory is None:
            return "Train a model or open a run folder first."
        if memory.resumable() is None:
            return "This model has no optimizer state to continue (a plain .keras file); train one here or open a run folder."
        if not self._counts:
            return "Label a few drawings first: press the digit each drawing shows."
        if not state.can_resume:
            return state.train_reason or "Teach it is not possible now."
        return ""

    def teach(self, share: float = EXTRA_SHARE_DEFAULT, epochs: int = DEFAULT_EPOCHS) -> Future[bool]:
        """Fine-tune the model in memory on its data mixed with the set, as a new run.

        The future resolves (in the session's thread) once the run has started, or with
        ``False`` when it could not (the state's message says why).
        """
        outcome: Future[bool] = Future()
        reason = self.teach_reason()
        memory = self.session.memory
        saved = memory.resumable() if memory is not None else None
        if reason or memory is None or saved is None:
            self._emit(reason or "Teach it is not possible now.", error=True)
            outcome.set_result(False)
            return outcome
        share = min(max(float(share), 0.01), EXTRA_SHARE_MAX)
        epochs = min(max(int(epochs), 1), MAX_EPOCHS)
        try:
            config = teach_config(saved.config, self.store.folder, share, epochs)
        except ProjectError as exc:
            self._emit(str(exc), error=True)
            outcome.set_result(False)
            return outcome
        before_predictor, names = memory.predictor, self._model.class_names
        before_test = memory.evaluation.accuracy if memory.evaluation is not None else None
        test_name = _test_name(saved.config)

        def started(ok: bool) -> None:
            if ok:
                report = TeachingReport(self.session.current_run_id, before_test=before_test, test_name=test_name)
                self._teaching, self._after_for = report, None
                self._score_once(before_predictor, names, self._on_before)
                self._emit(f"Teaching run {report.run_id}: {count(epochs, 'epoch')}, your drawings {share:.0%} of training.")
            else:
                self._emit("Teach it could not start; see the message above the plots.", error=True)
            outcome.set_result(ok)

        self.session.resume_training(config).add_done_callback(lambda done: self.session.dispatch(lambda: started(done.result())))
        return outcome

    def _on_before(self, score: Score) -> None:
        if self._teaching is not None:
            self._teaching = dataclasses.replace(self._teaching, before=score)
            self._emit()

    # ------------------------------------------------------------------ scoring

    def _rescore(self, message: str | None = None, *, error: bool = False) -> None:
        self._counts = self._read_counts()
        self._generation += 1
        generation = self._generation
        predictor, names = self._model.predictor, self._model.class_names
        if predictor is None or not self._counts:
            self._loads.cancel()
            self._emit(message, error=error, score=None, scoring=False)
            return
        store = self.store
        self._loads.start(lambda: (generation, predictor, scoring_batch(store.load(), names, predictor.input_shape)))
        self._emit(message, error=error, scoring=True)

    def _score_once(self, predictor: Predictor, names: tuple[str, ...], on_score: Callable[[Score], None]) -> None:
        """Score ``predictor`` once, outside the generations (a teaching's "before")."""
        store = self.store

        def answered(batch: ScoringBatch) -> None:
            future = _ask(predictor, batch)
            deliver(future, self.session.dispatch, lambda p: on_score(score_answers(batch, p, names)), None, "scoring")

        deliver(
            self.session.background.submit(lambda: scoring_batch(store.load(), names, predictor.input_shape)),
            self.session.dispatch,
            answered,
            None,
            "reading your handwriting",
        )

    def _on_loaded(self, answer: tuple[int, Predictor, ScoringBatch]) -> None:
        generation, predictor, batch = answer
        if generation != self._generation:
            return
        names = self._model.class_names
        future = _ask(predictor, batch)
        deliver(
            future,
            self.session.dispatch,
            lambda probabilities: self._on_scored(generation, predictor, batch, probabilities, names),
            lambda failure: self._on_score_failed(generation, failure),
            "scoring your handwriting",
        )

    def _on_scored(self, generation: int, predictor: Predictor, batch: ScoringBatch, probabilities: Any,
                   names: tuple[str, ...]) -> None:  # fmt: skip
        if generation != self._generation:
            return
        try:
            score = score_answers(batch, probabilities, names)
        except ValueError as exc:
            self._on_score_failed(generation, Failure(f"Scoring your handwriting failed: {exc}"))
            return
        message = None
        if predictor is self._after_for and self._teaching is not None:
            self._teaching = dataclasses.replace(self._teaching, after=score)
            self._after_for = None
            message = f"Run {self._teaching.run_id} has learnt from your drawings; File → Save Model keeps it."
        self._emit(message, score=score, scoring=False)

    def _on_load_failed(self, failure: Failure) -> None:
        self._emit(failure.message, error=True, score=None, scoring=False)

    def _on_score_failed(self, generation: int, failure: Failure) -> None:
        if generation == self._generation:
            # A live run that ended before answering is no failure: its final model is next.
            quiet = "the run ended" in failure.message or "no training run" in failure.message
            self._emit("" if quiet else failure.message, error=not quiet, score=None, scoring=False)

    # ------------------------------------------------------------------ state

    def _read_counts(self) -> dict[str, int]:
        try:
            return self.store.counts()
        except ProjectError:
            return {}

    def _is_live(self) -> bool:
        memory = self.session.memory
        predictor = self._model.predictor
        return predictor is not None and self.session.running and (memory is None or predictor is not memory.predictor)

    def _emit(self, message: str | None = None, *, error: bool = False, **changes: object) -> None:
        memory = self.session.memory
        in_memory = memory is not None and self._model.predictor is memory.predictor
        test = memory.evaluation.accuracy if in_memory and memory is not None and memory.evaluation is not None else None
        config = memory.config if in_memory and memory is not None else None
        state = dataclasses.replace(
            self.state,
            counts=tuple(sorted(self._counts.items(), key=lambda item: (len(item[0]), item[0]))),
            test_accuracy=test,
            test_name=_test_name(config) if config is not None else "test",
            live=self._is_live(),
            teach_reason=self.teach_reason(),
            teaching=self._teaching,
            **changes,  # type: ignore[arg-type] # fields of CoachState
        )
        if message is not None:
            state = dataclasses.replace(state, message=message, error=error)
        self.state = state
        self._on_state(state)


def _test_name(config: RunConfig) -> str:
    """``MNIST test``: the dataset's short name (a picked file's name for a file)."""
    spec = config.data
    name = data_title(spec) if spec.name == "file" else DATASET_CHOICES[spec.name].title
    return f"{name} test"


def _ask(predictor: Predictor, batch: ScoringBatch) -> Future[Any]:
    """``predictor``'s answer for ``batch``; a predictor that raises gives a failed future."""
    import numpy as np

    future: Future[Any]
    if not len(batch.x):  # no drawing of a class the model has: nothing to ask
        future = Future()
        future.set_result(np.zeros((0, 1), np.float32))
        return future
    try:
        return predictor.submit(batch.x)
    except Exception as exc:  # noqa: BLE001 - shown as the score's failure
        future = Future()
        future.set_exception(exc)
        return future
