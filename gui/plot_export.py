"""Writing the live plots to image files: PNG for slides, SVG for papers.

Each plot is written on its own, atomically (:func:`model.fileio.write_with_atomic`), so
a failed export never leaves a half-written file behind. PNGs come from pyqtgraph's
``ImageExporter`` at twice the on-screen size; SVGs are drawn by Qt's own SVG painter
(:func:`render_svg`), because pyqtgraph's ``SVGExporter`` fails on the path data that
Qt 6.11 writes (pyqtgraph issue #3485).

On screen the keys and legends are labels beside the plots (see :mod:`gui.plot_items`);
a file holds one plot alone, so each plot named in ``legends`` gets a pyqtgraph legend
inside it for the export (:func:`legend_for_export`), removed again afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem

from model.fileio import write_with_atomic


def render_svg(plot: pg.PlotItem, path: Path) -> None:
    """Draw ``plot`` as vector graphics into ``path``.

    Qt's own SVG painter, not pyqtgraph's SVGExporter: with Qt 6.11 that exporter fails on
    the path data Qt now writes (pyqtgraph issue #3485).
    """
    source = plot.sceneBoundingRect()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(source.size().toSize())
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    generator.setTitle(plot.titleLabel.text)
    painter = QPainter(generator)
    try:
        plot.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()


@contextmanager
def legend_for_export(
    plot: pg.PlotItem, curves: Sequence[pg.PlotDataItem], foreground: QColor, background: QColor
) -> Iterator[pg.LegendItem | None]:
    """A legend of ``curves`` (by their names) inside ``plot`` while the block runs."""
    named = [curve for curve in curves if curve.name()]
    if not named:
        yield None
        return
    fill = QColor(background)
    fill.setAlpha(210)
    legend = pg.LegendItem(offset=(-10, 10), labelTextColor=foreground, brush=pg.mkBrush(fill))
    legend.setParentItem(plot.vb)
    for curve in named:
        legend.addItem(curve, curve.name())
    try:
        yield legend
    finally:
        legend.clear()
        scene = legend.scene()
        # Qt's own setParentItem: pyqtgraph's re-anchors the legend, which needs a parent.
        QGraphicsItem.setParentItem(legend, None)
        if scene is not None:
            scene.removeItem(legend)


def export_plot_images(
    plots: Mapping[str, pg.PlotItem],
    base: Path,
    fmt: str,
    legends: Mapping[str, Sequence[pg.PlotDataItem]] | None = None,
    colors: tuple[QColor, QColor] | None = None,
) -> list[Path]:
    """Write each plot to ``<base>-<name>.<fmt>``, in the order given.

    Args:
        plots: The plots by the short name that ends their file name.
        base: The path the file names start with.
        fmt: ``png`` or ``svg``.
        legends: The curves to name in a legend inside the plot of that short name.
        colors: The legends' text and background colours (default black on white).

    Returns:
        The paths written.

    Raises:
        ProjectError: a file cannot be written (the earlier ones stay written).
    """
    from pyqtgraph.exporters import ImageExporter

    written = []
    for suffix, plot in plots.items():
        target = base.with_name(f"{base.name}-{suffix}.{fmt}")
        curves = (legends or {}).get(suffix, ())
        with legend_for_export(plot, curves, *(colors or (QColor("black"), QColor("white")))):
            if fmt == "svg":
                write_with_atomic(target, partial(render_svg, plot), suffix=".svg")
            else:
                exporter = ImageExporter(plot)
                # Twice the on-screen size, for print; pyqtgraph wants whole pixels.
                exporter.parameters()["width"] = max(1, int(plot.sceneBoundingRect().width()) * 2)
                write_with_atomic(target, lambda tmp, e=exporter: e.export(str(tmp)), suffix=".png")
        written.append(target)
    return written
