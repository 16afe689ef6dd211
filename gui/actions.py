"""Every action of the main window, declared once, as data.

Each :class:`ActionSpec` says what the action is called, its shortcut and tooltip, which
window method handles it, where it sits (menu, group, toolbar) and when it is enabled (a
predicate on the session's :class:`~model.session.ActionState`). :func:`build` turns the
table into ``QAction`` objects, menus and the toolbar; :func:`update` re-applies the
predicates. This follows napari's ``_qt/_qapp_model/qactions``: an action written in three
places (construction, menus, connections) was an action that could disagree with itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar, QWidget

from model.session import ActionState

Shortcut = str | QKeySequence.StandardKey | None
Predicate = Callable[[ActionState], bool]


def _can_open(state: ActionState) -> bool:
    return state.can_open


@dataclass(frozen=True)
class ActionSpec:
    """One action: its text, shortcut, tooltip, handler (a window method), place and state."""

    id: str
    text: str
    tip: str
    handler: str
    shortcut: Shortcut = None
    menu: str = ""  # "&File", or a submenu's id such as "file.export"
    group: str = ""  # a separator goes between groups of one menu
    toolbar: bool = False
    enabled: Predicate | None = None
    label: Callable[[ActionState], str] | None = None  # text that follows the state
    why_not: Callable[[ActionState], str] | None = None  # the tooltip says why it is disabled
    window_wide: bool = False  # shortcut works wherever the focus is in the window


@dataclass(frozen=True)
class SubmenuSpec:
    """A submenu (its items are added by the window, or by actions naming its id)."""

    id: str
    text: str
    menu: str
    group: str = ""
    enabled: Predicate | None = None


Entry = ActionSpec | SubmenuSpec

TABLE: Final[tuple[Entry, ...]] = (
    ActionSpec("file.new", "&New", "Start from the default network", "files.on_new", QKeySequence.StandardKey.New,
               "&File", "open", enabled=_can_open),
    ActionSpec("file.open", "&Open…", "Open a configuration file", "files.on_open", QKeySequence.StandardKey.Open,
               "&File", "open", enabled=_can_open),
    ActionSpec("file.open_run", "Open &Run Folder…", "Open a saved run: its model, configuration and history",
               "files.on_open_run", "Ctrl+Shift+O", "&File", "open", enabled=_can_open),
    ActionSpec("file.open_comparison", "Open &Comparison…", "Open a saved comparison: its results and every trial's curves",
               "compare_panel.on_open_comparison", menu="&File", group="open"),
    SubmenuSpec("file.recent", "Open &Recent", "&File", "open", enabled=_can_open),
    SubmenuSpec("file.presets", "&Presets", "&File", "open", enabled=_can_open),
    ActionSpec("file.save", "&Save", "Save the configuration", "files.on_save", QKeySequence.StandardKey.Save,
               "&File", "save"),
    ActionSpec("file.save_as", "Save &As…", "Save the configuration to a new file", "files.on_save_as", "Ctrl+Shift+S",
               "&File", "save"),
    ActionSpec("file.save_model", "Save &Model…", "Save the model with its configuration, history and test results",
               "files.on_save_model", "Ctrl+Shift+M", "&File", "save", enabled=lambda s: s.can_save_model),
    SubmenuSpec("file.export", "&Export", "&File", "save"),
    ActionSpec("export.history", "&History as CSV…", "Export the epoch history", "files.on_export_history",
               menu="file.export"),
    ActionSpec("export.batches", "&Batch History as CSV…",
               "Export every reported batch: loss, accuracy, learning rate, and per layer the gradient and weight "
               "norms, update ratio, dead and saturated shares", "files.on_export_batches", menu="file.export"),
    ActionSpec("export.png", "Plots as &PNG…", "Export each plot as a PNG image", "files.on_export_png", menu="file.export"),
    ActionSpec("export.svg", "Plots as &SVG…", "Export each plot as an SVG drawing", "files.on_export_svg",
               menu="file.export"),
    ActionSpec("export.tensorboard", "&TensorBoard Logs…", "Write the history as TensorBoard event files",
               "cockpit.on_export_tensorboard", menu="file.export"),
    ActionSpec("export.script", "Training &Script (plain Keras)…", "A Python script that rebuilds and trains this network",
               "files.on_export_script", menu="file.export"),
    ActionSpec("file.quit", "&Quit", "Quit Gradient Lab", "close", "Ctrl+Q", "&File", "quit"),
    # The designer's: their shortcuts work while the focus is in it (a text field and the
    # canvas have undo keys of their own); the menu reaches them from anywhere.
    ActionSpec("edit.undo", "&Undo layer edit", "Undo the last edit of the layer stack", "designer.undo_stack.undo",
               QKeySequence.StandardKey.Undo, "&Edit"),
    ActionSpec("edit.redo", "&Redo layer edit", "Redo the layer-stack edit just undone", "designer.undo_stack.redo",
               "Ctrl+Shift+Z", "&Edit"),
    ActionSpec("run.train", "&Train", "Train the network with these settings", "_on_train", "Ctrl+Return",
               "&Run", toolbar=True, enabled=lambda s: s.can_train, window_wide=True),
    ActionSpec("run.resume_training", "Resume &Training", "Continue training the model with its optimizer state",
               "_on_resume_training", "Ctrl+Shift+Return", "&Run", enabled=lambda s: s.can_resume, window_wide=True,
               why_not=lambda s: s.resume_reason),
    ActionSpec("run.pause", "&Pause", "Pause training; while paused you can change the learning rate", "_on_pause",
               "Ctrl+P", "&Run", toolbar=True, enabled=lambda s: s.can_pause,
               label=lambda s: "&Resume" if s.paused else "&Pause", window_wide=True),
    ActionSpec("run.stop", "&Stop", "Stop training after the current batch (Esc asks first)", "_on_stop", None, "&Run",
               toolbar=True, enabled=lambda s: s.can_pause),
    # Esc asks first: a key pressed by mistake (to close a list, say) must not end a run.
    ActionSpec("run.stop_asking", "Stop…", "Stop training after asking", "session.stop_after_asking", "Esc",
               enabled=lambda s: s.can_pause, window_wide=True),
    # F10 steps, as in debuggers; QAction repeats while the key is held.
    ActionSpec("run.step", "S&tep", "While paused, run exactly one batch and show it (hold to keep stepping)",
               "cockpit.on_step", "F10", "&Run", toolbar=True, enabled=lambda s: s.can_step, window_wide=True),
    ActionSpec("run.lr_find", "Find &Learning Rate…", "Learning-rate range test: a short run with the rate rising, "
               "and the rate where the loss falls fastest", "cockpit.on_lr_find", "Ctrl+L", "&Run", "tools",
               enabled=lambda s: not s.running),
    ActionSpec("run.init_preview", "Preview &Initialization…", "Each initializer's activations and gradients per "
               "layer, before training", "cockpit.on_init_preview", "Ctrl+I", "&Run", "tools",
               enabled=lambda s: not s.running),
    ActionSpec("run.replay", "Re&play a Run…", "Train a saved run again with op determinism on and compare",
               "cockpit.on_replay", None, "&Run", "tools"),
    ActionSpec("view.training", "&Training plots", "Show the live plots", "_on_show_training", "Ctrl+1", "&View"),
    ActionSpec("view.results", "&Results", "Show the test-set results", "_on_show_results", "Ctrl+2", "&View"),
    # Ctrl+3, in line with Ctrl+1 and Ctrl+2; Ctrl+D duplicates a layer in the designer.
    ActionSpec("view.draw", "&Draw", "Draw a digit for the model to read", "_on_show_draw", "Ctrl+3", "&View"),
    ActionSpec("help.shortcuts", "&Keyboard Shortcuts", "Every shortcut of the window", "help.on_shortcuts", "F1",
               "&Help"),
    ActionSpec("help.guide", "&Guide", "How to use Gradient Lab (the README's user sections)", "help.on_guide",
               menu="&Help"),
    ActionSpec("help.about", "&About Gradient Lab", "The versions of Gradient Lab and its libraries", "help.on_about",
               menu="&Help", group="about"),
    ActionSpec("view.compare", "&Compare", "Compare configurations side by side", "compare_panel.reveal", "Ctrl+4", "&View"),
)  # fmt: skip


@dataclass
class Built:
    """What :func:`build` made: the actions and submenus by id, and the toolbar."""

    actions: dict[str, QAction]
    menus: dict[str, QMenu]
    toolbar: QToolBar


def _handler(window: QWidget, name: str) -> Callable[[], object]:
    """The window method (or ``part.method``) a spec names."""
    target: object = window
    for part in name.split("."):
        target = getattr(target, part)
    assert callable(target), name
    return target


def _tip(spec: ActionSpec, action: QAction) -> str:
    """The action's tooltip: what it does, and its shortcut."""
    if spec.shortcut is None:
        return spec.tip
    return f"{spec.tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"


def _make_action(spec: ActionSpec, window: QWidget) -> QAction:
    action = QAction(spec.text, window)
    action.setObjectName(spec.id)
    if spec.shortcut is not None:
        action.setShortcut(QKeySequence(spec.shortcut))
    if spec.window_wide:
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    tip = _tip(spec, action)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False, name=spec.handler: _handler(window, name)())
    return action


def build(window: QMainWindow, table: tuple[Entry, ...] = TABLE) -> Built:
    """Create every action, menu, submenu and the toolbar of ``window`` from ``table``."""
    actions: dict[str, QAction] = {}
    menus: dict[str, QMenu] = {}
    last_group: dict[str, str] = {}
    toolbar = window.addToolBar("Run")
    toolbar.setObjectName("run-toolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)

    def menu_for(name: str) -> QMenu:
        if name not in menus:
            menus[name] = window.menuBar().addMenu(name)
        return menus[name]

    for entry in table:
        parent = menu_for(entry.menu) if entry.menu else None
        if parent is not None:
            previous = last_group.get(entry.menu)
            if previous is not None and previous != entry.group:
                parent.addSeparator()
            last_group[entry.menu] = entry.group
        if isinstance(entry, SubmenuSpec):
            assert parent is not None
            submenu = parent.addMenu(entry.text)
            submenu.setObjectName(entry.id)
            menus[entry.id] = submenu
            continue
        action = _make_action(entry, window)
        actions[entry.id] = action
        if parent is not None:
            parent.addAction(action)
            if entry.why_not is not None:
                parent.setToolTipsVisible(True)  # the reason shows over the disabled item
        if entry.toolbar:
            toolbar.addAction(action)
        if parent is None and not entry.toolbar:
            window.addAction(action)  # in no menu: only its shortcut reaches it
    return Built(actions, menus, toolbar)


def update(built: Built, state: ActionState, table: tuple[Entry, ...] = TABLE) -> None:
    """Enable (and relabel) every action and submenu for ``state``."""
    for entry in table:
        if isinstance(entry, SubmenuSpec):
            if entry.enabled is not None:
                built.menus[entry.id].menuAction().setEnabled(entry.enabled(state))
            continue
        action = built.actions[entry.id]
        if entry.enabled is not None:
            action.setEnabled(entry.enabled(state))
        if entry.label is not None:
            action.setText(entry.label(state))
        if entry.why_not is not None:
            tip = entry.why_not(state) or _tip(entry, action)
            action.setToolTip(tip)
            action.setStatusTip(tip)
