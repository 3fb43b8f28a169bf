"""The push dashboard's graphs: pygal SVG, drawn on the server, inlined in the page.

Pure functions of plain values returning SVG markup. No JavaScript and no external file: the
tooltip script pygal links by default (a CDN) is switched off, and each bar gets a native SVG
<title> instead, which every browser shows on hover. Colours and fonts are app.css's.

pygal styles each chart with a <style> element of its own (its rules are scoped to the chart's
random id and carry the chart's colours, so they cannot move to a static file). The page's
Content-Security-Policy refuses inline styles, so each chart takes the request's CSP nonce and
puts it on that element: the one inline style the site allows, on this page only. The tooltip
group pygal hides with a style attribute (which no nonce covers) is dropped: no script shows it.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

import pygal
from pygal.style import Style

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
INK, MUTED, LINE = "#1d2330", "#667085", "#e3e6eb"
OK, BAD, ORANGE, IDLE, BRAND = "#18794e", "#b42318", "#e07a1f", "#98a2b3", "#2f5bea"
# One colour per outcome of a pick, in the order push_dashboard.OUTCOMES stacks them.
OUTCOME_COLOURS = {"shipped": OK, "conflict": BAD, "tests-failed": ORANGE, "rolled": IDLE}


def _style(*colours: str) -> Style:
    return Style(
        background="transparent",
        plot_background="transparent",
        foreground=INK,
        foreground_strong=INK,
        foreground_subtle=LINE,
        guide_stroke_color=LINE,
        major_guide_stroke_color=LINE,
        guide_stroke_dasharray="0",
        major_guide_stroke_dasharray="0",
        opacity=".88",
        opacity_hover="1",
        transition="0s",
        colors=colours,
        font_family=FONT,
        label_font_family=FONT,
        major_label_font_family=FONT,
        legend_font_family=FONT,
        value_font_family=FONT,
        title_font_family=FONT,
        tooltip_font_family=FONT,
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=13,
        value_font_size=12,
        title_font_size=14,
        no_data_font_size=16,
    )


def _config(**options: object) -> dict[str, object]:
    base: dict[str, object] = {
        "js": [],  # pygal's tooltips come from a CDN: none here, titles instead
        "disable_xml_declaration": True,
        "legend_at_bottom": True,
        "legend_box_size": 12,
        "margin": 8,
        "spacing": 12,
        "show_y_guides": True,
        "show_x_guides": False,
        "no_data_text": "Nothing in this window",
        "truncate_label": -1,
        "truncate_legend": -1,
    }
    base.update(options)
    return base


def _svg(chart: pygal.graph.graph.Graph, names: Sequence[str], nonce: str) -> str:
    """Render, then give each bar a <title> ("Shipped · Wed 25 Nov: 3") for hover."""
    root = ET.fromstring(chart.render(is_unicode=True))
    for parent in list(root.iter()):  # pygal's inline config script: nothing reads it here
        for script in parent.findall(f"{{{SVG_NS}}}script"):
            parent.remove(script)
        for tooltip in parent.findall(f"{{{SVG_NS}}}g[@class='tooltip']"):
            parent.remove(tooltip)
    for style in root.iter(f"{{{SVG_NS}}}style"):
        if nonce:
            style.set("nonce", nonce)
    for number, name in enumerate(names):
        for series in root.iter(f"{{{SVG_NS}}}g"):
            if f"serie-{number} " not in series.get("class", "") + " ":
                continue
            for item in series.iter(f"{{{SVG_NS}}}g"):
                _title(item, name)
    return ET.tostring(root, encoding="unicode")


def _title(item: ET.Element, name: str) -> None:
    descs = {d.get("class"): d.text or "" for d in item.findall(f"{{{SVG_NS}}}desc")}
    if "value" not in descs:
        return
    label = descs.get("label") or descs["value"]
    title = ET.Element(f"{{{SVG_NS}}}title")
    title.text = f"{name} · {descs.get('x_label', '')}: {label}"
    item.insert(0, title)


def picks_per_day_chart(
    days: Sequence[dt.date],
    series: Mapping[str, Sequence[int]],
    names: Mapping[str, str],
    *,
    nonce: str = "",
) -> str:
    """Stacked bars: what happened to picks each day, one colour per outcome."""
    chart = pygal.StackedBar(
        style=_style(*(OUTCOME_COLOURS[o] for o in series)),
        **_config(
            width=1200,
            height=300,
            legend_at_bottom_columns=len(series),
            x_label_rotation=-40 if len(days) > 14 else 0,
            show_minor_x_labels=len(days) <= 42,
            x_labels_major_every=7 if len(days) > 42 else None,
            y_title="picks",
            min_scale=2,
            max_scale=6,
        ),
    )
    chart.x_labels = [f"{d:%a} {d.day} {d:%b}" for d in days]
    chart.value_formatter = lambda v: f"{v:.0f}"
    for outcome, counts in series.items():
        chart.add(names[outcome], [c or None for c in counts])
    return _svg(chart, [names[o] for o in series], nonce)


def confirmation_chart(
    labels: Sequence[str],
    asked: Sequence[int],
    confirmed: Sequence[int],
    *,
    nonce: str = "",
) -> str:
    """Bars per push: the share of picks asked to confirm that confirmed before it ran."""
    chart = pygal.Bar(
        style=_style(BRAND),
        **_config(
            width=600,
            height=300,
            show_legend=False,
            range=(0, 100),
            y_labels=[0, 25, 50, 75, 100],
            y_title="% confirmed",
            x_label_rotation=-45,
        ),
    )
    chart.x_labels = list(labels)
    chart.value_formatter = lambda v: f"{v:.0f}%"
    chart.add(
        "Confirmed",
        [
            {"value": 100 * c / a, "label": f"{c} of {a} confirmed"} if a else None
            for a, c in zip(asked, confirmed, strict=True)
        ],
    )
    return _svg(chart, ["Confirmed before the push"], nonce)


def duration_chart(
    labels: Sequence[str],
    minutes: Sequence[float | None],
    failed: Sequence[bool],
    *,
    nonce: str = "",
) -> str:
    """Bars per push: finished minus started, in minutes; failed pushes in red."""
    chart = pygal.StackedBar(
        style=_style(BRAND, BAD),
        **_config(
            width=600,
            height=300,
            legend_at_bottom_columns=2,
            y_title="minutes",
            x_label_rotation=-45,
            min_scale=2,
            max_scale=6,
        ),
    )
    chart.x_labels = list(labels)
    chart.value_formatter = lambda v: f"{round(v, 1):g} min"
    done = [m if m is not None and not f else None for m, f in zip(minutes, failed, strict=True)]
    bad = [m if m is not None and f else None for m, f in zip(minutes, failed, strict=True)]
    chart.add("Done", done)
    chart.add("Failed", bad)
    return _svg(chart, ["Done", "Failed"], nonce)
