"""Figures as plain data: what a matplotlib figure draws, reported by a probe and read back by judges.

A plotting check is judged on the data drawn, not on a count of artists: the probe reports each
line's x and y, each band's lower and upper bounds at its x (``fill_between``), each scatter's
points, each image's array, and each axes' title, axis labels and legend entries, as tensors
(``report``); the grading process reads them back as a ``Drawing`` and compares them with what
should have been drawn. Text travels as UTF-8 bytes in a uint8 tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .payload import Numbers

MAX_ARTISTS = 32  # of each kind reported per figure
MAX_POINTS = 100_000  # per line, band or scatter
MAX_IMAGE = 65_536  # elements of an image whose values are reported (beyond that, its shape only)
MAX_TEXT = 1000  # bytes of one text


def text_tensor(text: Any) -> Numbers:
    """A text as a uint8 tensor of its UTF-8 bytes (cut at ``MAX_TEXT``)."""
    return Numbers(list(str(text).encode("utf-8", "replace")[:MAX_TEXT]), dtype=torch.uint8)


def text_of(t: torch.Tensor | None) -> str:
    """The text a uint8 tensor holds; empty when it is none."""
    try:
        if t is None or t.dtype != torch.uint8 or t.dim() != 1:
            return ""
        return bytes(t.tolist()).decode("utf-8", "replace")
    except Exception:  # whatever a child reports, reading it back never raises
        return ""


def _floats(data: Any) -> torch.Tensor | None:
    """Plotted data as float64 values (None when matplotlib holds something that is not numbers)."""
    try:
        array = np.ma.filled(np.ma.asarray(data, dtype=np.float64), np.nan)
    except (TypeError, ValueError):
        return None
    return torch.from_numpy(np.array(array, dtype=np.float64).reshape(-1)[:MAX_POINTS].copy())


def _band(collection) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """A filled polygon as its x, and the lowest and highest y drawn at each x (``fill_between``'s bounds)."""
    vertices = [_floats(p.vertices) for p in collection.get_paths()]
    vertices = [v.reshape(-1, 2) for v in vertices if v is not None and v.numel() and v.numel() % 2 == 0]
    if not vertices:
        return None
    points = torch.cat(vertices)[:MAX_POINTS]
    points = points[torch.isfinite(points).all(dim=1)]
    if not len(points):
        return None
    x, where = torch.unique(points[:, 0], return_inverse=True)
    lower = torch.full_like(x, float("inf")).scatter_reduce(0, where, points[:, 1], "amin")
    upper = torch.full_like(x, float("-inf")).scatter_reduce(0, where, points[:, 1], "amax")
    return x, lower, upper


def report(fig) -> dict:
    """What ``fig`` draws, as plain values keyed ``figure/<kind>/<i>/<what>`` (see the module's docstring)."""
    from matplotlib.collections import PathCollection, PolyCollection

    out: dict[str, Any] = {}
    counts = {"line": 0, "band": 0, "scatter": 0, "image": 0}

    def add(kind: str, axes: int, **items) -> None:
        i = counts[kind]
        if i >= MAX_ARTISTS:
            return
        counts[kind] += 1
        out[f"figure/{kind}/{i}/axes"] = axes
        for name, value in items.items():
            out[f"figure/{kind}/{i}/{name}"] = value

    for a, ax in enumerate(fig.get_axes()[:MAX_ARTISTS]):
        legend = ax.get_legend()
        entries = [t.get_text() for t in legend.get_texts()] if legend is not None else []
        out.update({f"figure/axes/{a}/title": text_tensor(ax.get_title()),
                    f"figure/axes/{a}/xlabel": text_tensor(ax.get_xlabel()),
                    f"figure/axes/{a}/ylabel": text_tensor(ax.get_ylabel()),
                    f"figure/axes/{a}/legend": text_tensor("\n".join(entries))})
        for line in ax.get_lines():
            x, y = _floats(line.get_xdata()), _floats(line.get_ydata())
            if x is not None and y is not None:
                add("line", a, x=x, y=y, label=text_tensor(line.get_label()))
        for collection in ax.collections:
            if isinstance(collection, PolyCollection):
                bounds = _band(collection)
                if bounds is not None:
                    add("band", a, x=bounds[0], lower=bounds[1], upper=bounds[2])
            elif isinstance(collection, PathCollection):
                xy = _floats(collection.get_offsets())
                if xy is not None and xy.numel() % 2 == 0:
                    add("scatter", a, xy=xy.reshape(-1, 2))
        for image in ax.get_images():
            array = np.ma.filled(np.ma.asarray(image.get_array()), np.nan)
            shape = Numbers(list(array.shape), dtype=torch.int64)
            data = _floats(array) if array.size <= MAX_IMAGE else None
            add("image", a, shape=shape, **({"data": data.reshape(array.shape)} if data is not None else {}))
    return out


# --- in the grading process ------------------------------------------------------------------------


@dataclass
class Line:
    x: torch.Tensor
    y: torch.Tensor
    label: str
    axes: int


@dataclass
class Band:
    x: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    axes: int


@dataclass
class Image:
    shape: tuple[int, ...]
    data: torch.Tensor | None
    axes: int


@dataclass
class Axes:
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    legend: list[str] = field(default_factory=list)


@dataclass
class Drawing:
    """What a figure drew, read back from a probe's values (whatever they hold: malformed entries are left out)."""

    lines: list[Line] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    scatters: list[tuple[torch.Tensor, int]] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    axes: dict[int, Axes] = field(default_factory=dict)

    @classmethod
    def of(cls, values: dict) -> "Drawing":
        def get(key: str, dims: int | None = None) -> torch.Tensor | None:
            t = values.get(key)
            if not isinstance(t, torch.Tensor) or (dims is not None and t.dim() != dims):
                return None
            return t.double() if t.dtype != torch.uint8 else t

        def index(key: str) -> int:
            t = values.get(key)
            try:
                return int(t.reshape(()).item()) if isinstance(t, torch.Tensor) and t.numel() == 1 else -1
            except Exception:  # not a number
                return -1

        drawing = cls()
        for i in range(MAX_ARTISTS):
            p = f"figure/line/{i}"
            x, y = get(f"{p}/x", 1), get(f"{p}/y", 1)
            if x is not None and y is not None:
                drawing.lines.append(Line(x, y, text_of(values.get(f"{p}/label")), index(f"{p}/axes")))
            p = f"figure/band/{i}"
            x, low, high = get(f"{p}/x", 1), get(f"{p}/lower", 1), get(f"{p}/upper", 1)
            if x is not None and low is not None and high is not None and len(x) == len(low) == len(high):
                drawing.bands.append(Band(x, low, high, index(f"{p}/axes")))
            xy = get(f"figure/scatter/{i}/xy", 2)
            if xy is not None and xy.shape[-1] == 2:
                drawing.scatters.append((xy, index(f"figure/scatter/{i}/axes")))
            shape = values.get(f"figure/image/{i}/shape")
            if isinstance(shape, torch.Tensor) and shape.dim() == 1 and not shape.is_floating_point():
                drawing.images.append(Image(tuple(int(s) for s in shape.tolist()), get(f"figure/image/{i}/data"),
                                            index(f"figure/image/{i}/axes")))
        for a in range(MAX_ARTISTS):
            p = f"figure/axes/{a}"
            if f"{p}/title" in values:
                legend = text_of(values.get(f"{p}/legend"))
                drawing.axes[a] = Axes(text_of(values.get(f"{p}/title")), text_of(values.get(f"{p}/xlabel")),
                                       text_of(values.get(f"{p}/ylabel")), legend.split("\n") if legend else [])
        return drawing

    def legend_entries(self) -> list[str]:
        return [entry for ax in self.axes.values() for entry in ax.legend]

    def line_through(self, x: torch.Tensor | None, y: torch.Tensor, rtol: float = 1e-5,
                     atol: float = 1e-6) -> Line | None:
        """The first line that draws ``y`` (at ``x``, when given), or None."""
        for line in self.lines:
            if close(line.y, y, rtol, atol) and (x is None or close(line.x, x, rtol, atol)):
                return line
        return None


def close(a: torch.Tensor | None, b: torch.Tensor | None, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """Two drawn arrays hold the same numbers (same length, within tolerance)."""
    try:
        a, b = a.double().reshape(-1), b.double().reshape(-1).to(a.device)
        return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol))
    except Exception:  # not numbers, or not the same size
        return False
