"""The big countdown: Textual's ``Digits``, grown to fill the space it is given.

Given only 3 rows it is exactly ``Digits`` (box-drawing strokes). Given more (the session screen
leaves it every spare row, from 80x24 up), the same glyphs are redrawn stroke by stroke in solid
blocks at the largest scale that fits, so the seconds stay readable from two metres away, from a
belt, over a shoulder.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rich.align import Align
from rich.console import Console, ConsoleOptions
from rich.console import RenderResult as RichRenderResult
from rich.segment import Segment
from rich.style import Style
from textual.app import RenderResult
from textual.renderables.digits import DIGITS, DIGITS3X3_BOLD
from textual.renderables.digits import Digits as DigitsRenderable
from textual.widgets import Digits

__all__ = ["Countdown", "GlyphScale", "fit_scale", "scaled_lines"]

# Which arms (North, East, South, West) each heavy box-drawing character of the bold glyphs has.
_ARMS: dict[str, str] = {
    "┏": "ES",
    "┓": "SW",
    "┗": "NE",
    "┛": "NW",
    "━": "EW",
    "┃": "NS",
    "╺": "E",
    "╸": "W",
    "╻": "S",
    "╹": "N",
    "┣": "NES",
    "┫": "NSW",
    "┳": "ESW",
    "┻": "NEW",
    "╋": "NESW",
}
_INK = "█"


@dataclass(frozen=True, slots=True)
class GlyphScale:
    """Size of one of the 3x3 glyph cells, and of a stroke through it, in terminal cells.

    Terminal cells are about twice as tall as wide, so vertical strokes are twice as many
    columns wide as horizontal strokes are rows tall, and cells are a little wider than tall.
    """

    cell_w: int
    cell_h: int
    stroke_w: int
    stroke_h: int

    @classmethod
    def of(cls, factor: int) -> GlyphScale:
        stroke_h = max(1, factor // 2)
        return cls(cell_w=factor + 2, cell_h=factor + 1, stroke_w=2 * stroke_h, stroke_h=stroke_h)

    def size(self, value: str) -> tuple[int, int]:
        """Width and height of ``value`` drawn at this scale."""
        return 3 * self.cell_w * len(value), 3 * self.cell_h


MAX_FACTOR = 12


def fit_scale(value: str, width: int, height: int) -> GlyphScale | None:
    """The largest scale (factor >= 2) at which ``value`` fits, or None for plain Digits."""
    if not value or any(ch not in DIGITS or ch in "^x" for ch in value):
        return None
    best = None
    for factor in range(2, MAX_FACTOR + 1):
        scale = GlyphScale.of(factor)
        w, h = scale.size(value)
        if w > width or h > height:
            break
        best = scale
    return best


def _glyph(character: str) -> list[str]:
    position = DIGITS.index(character) * 3
    return [DIGITS3X3_BOLD[position + row].ljust(3)[:3] for row in range(3)]


@lru_cache(maxsize=64)
def _scaled(value: str, scale: GlyphScale) -> tuple[str, ...]:
    return tuple(scaled_lines(value, scale))


def scaled_lines(value: str, scale: GlyphScale) -> list[str]:
    """``value`` drawn with solid strokes following the bold Digits glyphs."""
    cw, ch, sw, sh = scale.cell_w, scale.cell_h, scale.stroke_w, scale.stroke_h
    width, height = scale.size(value)
    canvas = [[" "] * width for _ in range(height)]
    # where the stroke bands cross a cell
    col0, row0 = (cw - sw) // 2, (ch - sh) // 2
    col1, row1 = col0 + sw, row0 + sh

    def ink(x0: int, x1: int, y0: int, y1: int) -> None:
        for y in range(y0, y1):
            for x in range(x0, x1):
                canvas[y][x] = _INK

    for index, character in enumerate(value):
        for gy, row in enumerate(_glyph(character)):
            for gx, piece in enumerate(row):
                x, y = (index * 3 + gx) * cw, gy * ch
                if piece in (":", "•"):
                    # two dots, centred in the upper and lower halves of the glyph
                    top = row0 + ch // 2
                    bottom = ch + row0 + (ch + 1) // 2
                    ink(x + col0, x + col1, top, top + sh)
                    ink(x + col0, x + col1, bottom, bottom + sh)
                    continue
                arms = _ARMS.get(piece)
                if arms is None:
                    continue
                ink(x + col0, x + col1, y + row0, y + row1)
                if "N" in arms:
                    ink(x + col0, x + col1, y, y + row1)
                if "S" in arms:
                    ink(x + col0, x + col1, y + row0, y + ch)
                if "W" in arms:
                    ink(x, x + col1, y + row0, y + row1)
                if "E" in arms:
                    ink(x + col0, x + cw, y + row0, y + row1)
    return ["".join(line) for line in canvas]


class _Centred:
    """Lines drawn centred in a fixed box, every line padded to the full width.

    (Handing Textual ragged ``Text`` lines inside ``Align`` lost their leading spaces.)
    """

    def __init__(self, lines: list[str], width: int, height: int, style: Style) -> None:
        self._lines = lines
        self._width = width
        self._height = height
        self._style = style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RichRenderResult:
        width = self._width
        body_w = max((len(line) for line in self._lines), default=0)
        left = max(0, (width - body_w) // 2)
        top = max(0, (self._height - len(self._lines)) // 2)
        blank = " " * width
        rows = [blank] * top + [(" " * left + line).ljust(width)[:width] for line in self._lines]
        rows += [blank] * max(0, self._height - len(rows))
        for row in rows[: self._height]:
            yield Segment(row, self._style)
            yield Segment.line()


class Countdown(Digits):
    """``Digits`` that scale up to fill their region; text-style bold selects the heavy glyphs."""

    DEFAULT_CSS = """
    Countdown {
        width: 1fr;
        height: 1fr;
        min-height: 3;
        text-align: center;
        text-style: bold;
    }
    """

    def render(self) -> RenderResult:
        size = self.content_size
        style = self.rich_style + Style(bold=True)
        scale = fit_scale(self.value, size.width, size.height)
        if scale is None:
            body = DigitsRenderable(self.value, style)
            return Align(body, "center", style, vertical="middle", height=size.height)
        return _Centred(list(_scaled(self.value, scale)), size.width, size.height, style)
