"""Static-asset rules that a browser check would catch only on the page that happens to hover a chart."""

import re
from pathlib import Path

import zhixian

SRC = Path(zhixian.__file__).parent


def _our_scripts() -> list[Path]:
    return [p for p in SRC.rglob("*.js") if "vendor" not in p.parts]


def test_every_chart_tooltip_is_drawn_on_the_canvas() -> None:
    """ECharts' HTML tooltips carry style attributes, which the CSP (style-src 'self') blocks."""
    bad = [
        f"{p.relative_to(SRC)}:{n}"
        for p in _our_scripts()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\btooltip\s*:\s*\{", line) and "richText" not in line
    ]
    assert _our_scripts(), "no scripts found: the check would pass vacuously"
    assert bad == []
