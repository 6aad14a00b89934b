"""A chart as data: what a panel hands to `includes/chart.html`, which draws it twice — on a
canvas, by Chart.js (npm, served from node_modules) through `static/js/charts.js`, and as a table
of the same numbers for those who do not see the canvas (screen readers, no script, a copy).

The data travels in a `json_script` element (our CSP runs no inline script); colours are the
design system's custom properties (`--chart-1`…, or a named token such as `color-danger`), read
by the script, so that a chart follows the tokens like every other component.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["line", "bar", "doughnut"]
# Beyond this many rows the table of numbers is folded under the chart (a week of days).
TABLE_ROWS_SHOWN = 7


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int | float]
    # A custom property of the design system, without its "--": "chart-3", "color-danger".
    color: str = ""


@dataclass(frozen=True)
class Chart:
    id: str  # unique on the page: the canvas is "chart-<id>", its data "chart-<id>-data"
    title: str  # the canvas' accessible name and the table's caption
    kind: Kind
    labels: Sequence[str]  # one per point (x axis), or per slice of a doughnut
    series: Sequence[Series]
    stacked: bool = False
    horizontal: bool = False  # bars along the x axis, labels down the y axis
    row_header: str = ""  # the heading of the table's label column
    options: dict[str, Any] = field(default_factory=dict)  # more for the script (percent…)

    @property
    def canvas_id(self) -> str:
        return f"chart-{self.id}"

    @property
    def data_id(self) -> str:
        return f"chart-{self.id}-data"

    @property
    def spec(self) -> dict[str, Any]:
        """What the script reads: plain JSON."""
        return {
            "kind": self.kind,
            "title": self.title,
            "labels": [str(label) for label in self.labels],
            "series": [
                {
                    "label": str(s.label),
                    "values": list(s.values),
                    "color": s.color or f"chart-{i % 6 + 1}",
                }
                for i, s in enumerate(self.series)
            ],
            "stacked": self.stacked,
            "horizontal": self.horizontal,
            **self.options,
        }

    @property
    def rows(self) -> list[tuple[str, list[int | float]]]:
        """The table: one row per label, one cell per series."""
        return [
            (str(label), [s.values[i] for s in self.series]) for i, label in enumerate(self.labels)
        ]

    @property
    def folded(self) -> bool:
        return len(self.labels) > TABLE_ROWS_SHOWN

    @property
    def is_empty(self) -> bool:
        return not any(value for s in self.series for value in s.values)
