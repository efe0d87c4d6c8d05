"""Bar charts drawn on the server as inline SVG: no script, no style attribute.

The strict Content-Security-Policy (``security.py``) refuses inline styles, so every colour,
size and line is an SVG presentation attribute. The charts read in grey and for people who
cannot tell colours apart: each bar carries its number as text at its end, and a second
series is hatched, not only another colour. The SVG is an image with a title
(``role="img"``, ``aria-labelledby``); the same numbers are in the table beside it, which is
what a screen reader reads.
"""

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
MARGIN = 8
VALUE_ROOM = 120  # right of the longest bar: its number
BAR = 18
BAR_GAP = 4
LABEL_HEIGHT = 20  # a category's name, above its bars
ROW_GAP = 10
LEGEND_HEIGHT = 28
FONT_SIZE = 14
INK = "#1b1f24"
BRAND = "#0b4f8a"
REFERENCE = "#a4161a"


@dataclass
class Series:
    """One set of bars: a name (for the legend), a value per category and its text."""

    name: str
    values: list[float]
    texts: list[str]


@dataclass
class Reference:
    """A dashed line across the bars at a value, with its text (a promise, a target)."""

    value: float
    text: str


def _text(x: float, y: float, content: str, anchor: str = "start", weight: str = "") -> str:
    """A line of text, escaped, in the ink colour."""
    bold = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{FONT_SIZE}" fill="{INK}" '
        f'text-anchor="{anchor}"{bold}>{escape(content)}</text>'
    )


def _fill(chart_id: str, index: int) -> str:
    """Solid for the first series, hatched for the second (readable without colour)."""
    return BRAND if index == 0 else f"url(#{chart_id}-hatch)"


def _hatch(chart_id: str) -> str:
    """The hatching of the second series: diagonal lines on white."""
    return (
        f'<defs><pattern id="{chart_id}-hatch" width="6" height="6" '
        f'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{BRAND}" stroke-width="3"/>'
        f"</pattern></defs>"
    )


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: list[str],
    series: list[Series],
    reference: Reference | None = None,
) -> Markup:
    """Horizontal bars, one group per category, each category's name above its bars.

    ``chart_id`` must be unique on the page (the title's and pattern's ids derive from it).
    """
    top = MARGIN + (LEGEND_HEIGHT if len(series) > 1 else 0) + (LABEL_HEIGHT if reference else 0)
    group = LABEL_HEIGHT + len(series) * (BAR + BAR_GAP) + ROW_GAP
    height = top + group * max(1, len(categories)) + MARGIN
    largest = max(
        [value for item in series for value in item.values]
        + ([reference.value] if reference else [])
        + [0]
    )
    room = WIDTH - 2 * MARGIN - VALUE_ROOM

    def scale(value: float) -> float:
        return room * value / largest if largest else 0

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    if len(series) > 1:
        parts.append(_hatch(chart_id))
        x = MARGIN
        for index, item in enumerate(series):
            parts.append(
                f'<rect x="{x}" y="{MARGIN + 4}" width="{BAR}" height="{BAR}" '
                f'fill="{_fill(chart_id, index)}" stroke="{BRAND}" stroke-width="1"/>'
            )
            parts.append(_text(x + BAR + 6, MARGIN + 4 + BAR - 4, item.name))
            x += BAR + 12 + 9 * len(item.name)
    for row, category in enumerate(categories):
        y = top + row * group
        parts.append(_text(MARGIN, y + LABEL_HEIGHT - 6, category, weight="600"))
        for index, item in enumerate(series):
            bar_y = y + LABEL_HEIGHT + index * (BAR + BAR_GAP)
            width = scale(item.values[row])
            parts.append(
                f'<rect x="{MARGIN}" y="{bar_y:.1f}" width="{width:.1f}" height="{BAR}" '
                f'fill="{_fill(chart_id, index)}" stroke="{BRAND}" stroke-width="1"/>'
            )
            parts.append(_text(MARGIN + width + 6, bar_y + BAR - 4, item.texts[row]))
    if reference:
        x = MARGIN + scale(reference.value)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - MARGIN}" '
            f'stroke="{REFERENCE}" stroke-width="2" stroke-dasharray="6 4"/>'
        )
        anchor = "end" if x > WIDTH / 2 else "start"
        parts.append(_text(x + (-4 if anchor == "end" else 4), top - 8, reference.text, anchor))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)
