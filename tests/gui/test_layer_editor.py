"""The layer editor: every layer type round trips through its widgets; edits give whole specs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtWidgets import QComboBox, QSpinBox, QWidget

from gui.layer_editor import LayerEditor
from model.config import ACTIVATIONS, INITIALIZERS, LAYER_PARAMS, LAYER_TYPES, PADDINGS, LayerSpec

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def editor(qtbot) -> LayerEditor:
    widget = LayerEditor()
    qtbot.addWidget(widget)
    widget.show()
    return widget


_layers = st.builds(
    LayerSpec,
    type=st.sampled_from(LAYER_TYPES),
    units=st.integers(1, 65536),
    filters=st.integers(1, 4096),
    kernel_size=st.integers(1, 64),
    strides=st.integers(1, 64),
    padding=st.sampled_from(PADDINGS),
    pool_size=st.integers(1, 64),
    rate=st.integers(0, 999).map(lambda k: k / 1000),
    activation=st.sampled_from(ACTIVATIONS),
    initializer=st.none() | st.sampled_from(INITIALIZERS),
    l1=st.none() | st.sampled_from([0.0, 1e-5, 1e-4, 0.01, 1.0]),
    l2=st.none() | st.sampled_from([0.0, 2e-5, 1e-3, 0.5]),
)


def test_any_layer_round_trips_through_the_widgets(qtbot, editor: LayerEditor) -> None:
    @settings(max_examples=80, deadline=None)
    @given(spec=_layers)
    def check(spec: LayerSpec) -> None:
        with qtbot.assertNotEmitted(editor.layerEdited):
            editor.show_layer(spec, 3)
        assert editor.layer() == spec
        assert editor.title() == "Layer 3"
        for name in LAYER_PARAMS["Conv2D"] + ("units", "pool_size", "rate"):
            widget = editor.findChild(QWidget, name)
            assert widget.isVisibleTo(editor) == (name in LAYER_PARAMS[spec.type]), name
        # Every widget read back (on an edit of the type there and back again) gives the spec.
        kind = editor.findChild(QComboBox, "type")
        kind.setCurrentText("Dense" if spec.type == "Flatten" else "Flatten")
        with qtbot.waitSignal(editor.layerEdited) as blocker:
            kind.setCurrentText(spec.type)
        assert blocker.args == [spec]

    check()


def test_an_edit_gives_the_whole_new_spec(qtbot, editor: LayerEditor) -> None:
    editor.show_layer(LayerSpec("Dense", units=128, activation="tanh"), 2)
    with qtbot.waitSignal(editor.layerEdited) as blocker:
        editor.findChild(QSpinBox, "units").setValue(64)
    assert blocker.args == [LayerSpec("Dense", units=64, activation="tanh")]
    with qtbot.waitSignal(editor.layerEdited) as blocker:
        editor.findChild(QComboBox, "type").setCurrentText("Dropout")
    assert blocker.args == [LayerSpec("Dropout", units=64, activation="tanh")]  # the rest is kept
    assert editor.findChild(QWidget, "rate").isVisibleTo(editor)
    assert not editor.findChild(QWidget, "units").isVisibleTo(editor)


def test_no_layer_shows_no_fields(editor: LayerEditor) -> None:
    editor.show_layer(None)
    assert not editor.isEnabled() and editor.title() == "Selected layer (none)"
    assert editor.layer() is None
    assert not any(editor.findChild(QWidget, name).isVisibleTo(editor) for name in LAYER_PARAMS["Conv2D"])
