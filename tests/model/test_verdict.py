"""model.verdict: confident answers, scribbles and unsure guesses, and test-time averaging."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pytest
from scipy import ndimage

from model.explain import GRAD_CAM, Explanation, FeatureMaps
from model.ink import preprocess_strokes
from model.preprocess import preprocessed
from model.verdict import (
    CONFIDENT,
    JITTERS,
    MAX_STROKES,
    SCRIBBLE_LENGTH,
    SCRIBBLE_MESSAGE,
    AveragingPredictor,
    jittered_copies,
    judge,
)


def row(winner: int, top: float) -> np.ndarray:
    out = np.full(10, (1.0 - top) / 9.0, dtype=np.float32)
    out[winner] = top
    return out


def digit_image() -> np.ndarray:
    image = np.zeros((28, 28), dtype=np.float32)
    image[4:24, 12:16] = 1.0
    image[4:8, 8:16] = 1.0
    return image


# --------------------------------------------------------------------------- the verdict


def test_a_clear_winner_is_an_answer() -> None:
    verdict = judge(row(7, 0.9))
    assert verdict.confident and verdict.predicted_class == 7 and verdict.note == ""
    assert not verdict.probabilities.flags.writeable
    assert judge(row(3, CONFIDENT)[None, :]).confident  # a batch of one reads the same


def test_an_unsure_network_gives_no_answer_and_names_the_candidates() -> None:
    probabilities = row(4, 0.4)
    probabilities[9] = 0.35
    verdict = judge(probabilities / probabilities.sum())
    assert not verdict.confident and verdict.predicted_class == 4
    assert verdict.note == "Not sure: it could be 4 or 9"


def test_a_scribble_gives_no_answer_however_sure_the_network_is() -> None:
    rng = np.random.default_rng(0)
    zigzag = [[(40.0 + 200.0 * (k % 2), 40.0 + 200.0 * y) for k, y in enumerate(np.sort(rng.random(30)))]]
    prep = preprocess_strokes(zigzag, canvas_size=280)
    assert prep.scribble > SCRIBBLE_LENGTH
    verdict = judge(row(8, 0.99), prep)
    assert not verdict.confident and verdict.note == SCRIBBLE_MESSAGE
    seven = [[(60.0, 60.0), (220.0, 60.0), (140.0, 240.0)]]
    assert judge(row(7, 0.99), preprocess_strokes(seven, canvas_size=280)).confident
    hatched = seven + [[(60.0 + 20 * k, 100.0), (80.0 + 20 * k, 200.0)] for k in range(MAX_STROKES)]
    assert not judge(row(7, 0.99), preprocess_strokes(hatched, canvas_size=280)).confident


def test_a_picture_file_has_no_scribble_score_and_is_judged_by_the_network() -> None:
    prep = preprocessed(digit_image(), [("28x28 centred", digit_image())], empty=False)
    assert judge(row(1, 0.8), prep).confident


# --------------------------------------------------------------------------- averaging


def test_jittered_copies_are_the_image_and_zooms_about_its_centre() -> None:
    image = digit_image()
    copies = jittered_copies(image)
    assert copies.shape == (len(JITTERS), 28, 28) and copies.dtype == np.float32
    np.testing.assert_array_equal(copies[0], image)
    assert 0.0 <= copies.min() and copies.max() <= 1.0
    centre = np.array(ndimage.center_of_mass(image))
    for (_, zoom, _), copy in zip(JITTERS, copies, strict=True):
        moved = np.array(ndimage.center_of_mass(copy)) - 13.5
        assert np.allclose(moved, (centre - 13.5) * zoom, atol=0.6)
        assert copy.sum() == pytest.approx(image.sum() * zoom**2, rel=0.15)


class RecordingPredictor:
    """Answers each row with a fixed distribution that depends on the row's ink."""

    def __init__(self, input_shape: tuple[int, ...], fail: bool = False) -> None:
        self.input_shape = input_shape
        self.calls: list[np.ndarray] = []
        self.fail = fail

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        self.calls.append(x)
        future: Future[np.ndarray] = Future()
        if self.fail:
            future.set_exception(RuntimeError("the model is gone"))
            return future
        ink = x.reshape(len(x), -1).sum(axis=1)
        out = np.zeros((len(x), 10), dtype=np.float32)
        out[:, 0] = ink / (1.0 + ink)
        out[:, 1] = 1.0 - out[:, 0]
        future.set_result(out)
        return future


@pytest.mark.parametrize("shape", [(28, 28, 1), (784,), (28, 28)])
def test_averaging_reads_each_row_as_its_copies_and_answers_one_row_each(shape: tuple[int, ...]) -> None:
    inner = RecordingPredictor(shape)
    averaging = AveragingPredictor(inner)
    assert averaging.input_shape == shape
    images = np.stack([digit_image(), 0.5 * digit_image()])
    answer = averaging.submit(images.reshape((2, *shape))).result(timeout=1)
    assert answer.shape == (2, 10)
    (sent,) = inner.calls
    assert sent.shape == (2 * len(JITTERS), *shape)
    expected = RecordingPredictor(shape).submit(sent).result().reshape(2, len(JITTERS), 10).mean(axis=1)
    np.testing.assert_allclose(answer, expected, rtol=1e-6)


def test_averaging_passes_failures_on() -> None:
    averaging = AveragingPredictor(RecordingPredictor((28, 28, 1), fail=True))
    with pytest.raises(RuntimeError, match="gone"):
        averaging.submit(digit_image()[None, :, :, None]).result(timeout=1)


class PendingPredictor:
    """Hands out futures that nothing has started on."""

    input_shape = (28, 28, 1)

    def __init__(self) -> None:
        self.futures: list[Future[np.ndarray]] = []

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        self.futures.append(Future())
        return self.futures[-1]


def test_cancelling_an_averaged_request_cancels_the_wrapped_one_and_the_other_way_round() -> None:
    inner = PendingPredictor()
    averaging = AveragingPredictor(inner)
    image = digit_image()[None, :, :, None]
    outer = averaging.submit(image)
    assert outer.cancel()
    assert inner.futures[0].cancelled()  # its work is skipped too
    second = averaging.submit(image)
    assert inner.futures[1].cancel()
    assert second.cancelled()
    # Once the wrapped one runs, cancelling is refused, and the answer comes.
    third = averaging.submit(image)
    assert inner.futures[2].set_running_or_notify_cancel()
    assert not third.cancel() and not third.cancelled()
    inner.futures[2].set_result(np.tile(row(3, 0.9), (len(JITTERS), 1)))
    assert int(np.argmax(third.result(timeout=1))) == 3


class ExplainingRecorder(RecordingPredictor):
    """A RecordingPredictor that also explains: the saliency is the input, one layer of maps."""

    def __init__(self, input_shape: tuple[int, ...]) -> None:
        super().__init__(input_shape)
        self.explained: list[np.ndarray] = []

    def explain(self, x: np.ndarray) -> Future[Explanation]:
        self.explained.append(x)
        probabilities = RecordingPredictor(self.input_shape).submit(x).result()
        maps = (FeatureMaps("conv", np.arange(len(x), dtype=np.float32)[:, None, None, None] * np.ones((1, 4, 4, 2)), 8),)
        future: Future[Explanation] = Future()
        future.set_result(Explanation(probabilities, x.copy(), np.arange(len(x)), GRAD_CAM, "conv", maps))
        return future


def test_averaged_explanations_average_the_answer_and_show_the_drawing_as_drawn() -> None:
    inner = ExplainingRecorder((28, 28, 1))
    images = np.stack([digit_image(), 0.5 * digit_image()])[..., None]
    explanation = AveragingPredictor(inner).explain(images).result(timeout=1)
    (sent,) = inner.explained
    assert sent.shape == (2 * len(JITTERS), 28, 28, 1) and inner.calls == []  # one call, to explain
    expected = AveragingPredictor(RecordingPredictor((28, 28, 1))).submit(images).result(timeout=1)
    np.testing.assert_allclose(explanation.probabilities, expected, rtol=1e-6)
    np.testing.assert_allclose(explanation.saliency, images)  # the copies as drawn, not zoomed
    assert list(explanation.explained) == [0, len(JITTERS)]
    assert explanation.feature_maps[0].maps.shape == (2, 4, 4, 2)
    assert list(explanation.feature_maps[0].maps[:, 0, 0, 0]) == [0, len(JITTERS)]
    assert (explanation.method, explanation.layer, explanation.feature_maps[0].channels) == (GRAD_CAM, "conv", 8)


def test_averaging_a_predictor_that_cannot_explain_fails_in_the_future() -> None:
    with pytest.raises(TypeError, match="cannot show"):
        AveragingPredictor(RecordingPredictor((28, 28, 1))).explain(digit_image()[None, :, :, None]).result(timeout=1)
