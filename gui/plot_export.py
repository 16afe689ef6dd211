"""Writing the live plots to image files: PNG for slides, SVG for papers.

Each plot is written on its own, atomically (:func:`model.fileio.write_with_atomic`), so
a failed export never leaves a half-written file behind. PNGs come from pyqtgraph's
``ImageExporter`` at twice the on-screen size; SVGs are drawn by Qt's own SVG painter
(:func:`render_svg`), because pyqtgraph's ``SVGExporter`` fails on the path data that
Qt 6.11 writes (pyqtgraph issue #3485).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator

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


def export_plot_images(plots: Mapping[str, pg.PlotItem], base: Path, fmt: str) -> list[Path]:
    """Write each plot to ``<base>-<name>.<fmt>``, in the order given.

    Args:
        plots: The plots by the short name that ends their file name.
        base: The path the file names start with.
        fmt: ``png`` or ``svg``.

    Returns:
        The paths written.

    Raises:
        ProjectError: a file cannot be written (the earlier ones stay written).
    """
    from pyqtgraph.exporters import ImageExporter

    written = []
    for suffix, plot in plots.items():
        target = base.with_name(f"{base.name}-{suffix}.{fmt}")
        if fmt == "svg":
            write_with_atomic(target, partial(render_svg, plot), suffix=".svg")
        else:
            exporter = ImageExporter(plot)
            # Twice the on-screen size, for print; pyqtgraph wants whole pixels.
            exporter.parameters()["width"] = max(1, int(plot.sceneBoundingRect().width()) * 2)
            write_with_atomic(target, lambda tmp, e=exporter: e.export(str(tmp)), suffix=".png")
        written.append(target)
    return written
