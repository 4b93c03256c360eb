"""Self-contained HTML pages for a day's data quality and for the trend over all days.

``render_day`` turns one day's ``validation_report.json``, ``alerts.json``, hourly clean event
counts, volume baseline and a masked sample of quarantined rows (a ``DayPage``) into one HTML5
document; ``render_index`` turns one ``IndexRow`` per day into an overview page with a table
(newest day first, a link to each day's page) and trend charts. Both pages are single files:
inline CSS, no JavaScript, no fonts, images, stylesheets or anything else fetched from
anywhere, and a Content-Security-Policy that forbids any load should a value ever slip
through. The charts are hand-written inline SVG rather than a chart library, because that
adds no dependency and keeps a 60-day index page at about 0.2 MB (25 kB gzipped).

Every value that reaches the page is HTML-escaped; raw values from quarantined rows are
also made visible (control and bidi characters as ``\\xNN``/``\\uNNNN``) and long ones cut at
about 80 characters. Numbers a test or a browser check reads carry hooks: table cells have
``data-metric="<name>"`` and ``data-value`` (the exact number, the text shows it formatted),
charts are ``<svg data-chart="<name>">`` and each plotted bar, cell or point has
``data-value``. The module is plain Python (standard library only); the caller gathers the
inputs from the report documents, the metrics and the quarantine files.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date

__all__ = ["DayPage", "IndexRow", "render_day", "render_index", "day_status", "ENTITIES"]

ENTITIES = ("customers", "events", "orders")
STATUSES = ("ok", "warning", "critical", "failed", "missing")
_SEVERITY_RANK = {"warning": 1, "critical": 2}
CELL_CHARS = 80  # raw cells and labels are cut to about this many characters
_LABEL_CHARS = 44  # reason labels in the bar charts
_DETAIL_CHARS = 360  # an alert's details as JSON
_MESSAGE_CHARS = 240  # alert messages and skip reasons (pipeline text that may quote raw values)


@dataclass(frozen=True)
class DayPage:
    """Everything one day's page shows.

    ``report`` and ``alerts`` are the day's ``validation_report.json`` and ``alerts.json``
    documents as parsed JSON; ``hourly_counts`` the 24 clean event counts per UTC hour (the
    ``hourly_events`` metrics); ``volume_baseline`` the median clean events of the baseline
    days (``None`` when there are too few); ``samples`` per entity a few quarantined rows,
    already masked, each a dict with ``reject_reason``, ``source_file``, ``source_line`` and
    the raw column values.
    """

    day: date
    report: dict
    alerts: dict
    hourly_counts: list[int]
    volume_baseline: float | None
    samples: dict[str, list[dict]] = field(default_factory=dict)
    index_href: str = "../index.html"

    def __post_init__(self) -> None:
        if len(self.hourly_counts) != 24:
            raise ValueError(f"hourly_counts needs 24 values (one per UTC hour), got {len(self.hourly_counts)}")


@dataclass(frozen=True)
class IndexRow:
    """One day of the index page.

    ``status`` is ``"ok"``, the worst alert severity (``"warning"``/``"critical"``), or
    ``"failed"``/``"missing"``; ``quarantine_rate`` per entity (customers, events, orders,
    as a fraction of raw rows); ``amount_p95`` per currency; ``href`` the relative link to
    the day's page (e.g. ``ingest_date=2025-12-10/report.html``, empty for no link).
    """

    day: date
    status: str
    alerts_critical: int
    alerts_warning: int
    events_clean: int | None
    events_baseline: float | None
    quarantine_rate: dict[str, float]
    duration_ms_p95: float | None
    amount_p95: dict[str, float]
    href: str


def day_status(alerts: dict) -> str:
    """``"critical"`` or ``"warning"`` (the worst severity among the day's alerts), else ``"ok"``."""
    worst = max((_SEVERITY_RANK.get(a.get("severity"), 0) for a in alerts.get("alerts") or []), default=0)
    return {2: "critical", 1: "warning"}.get(worst, "ok")


# --------------------------------------------------------------------------- text and numbers

_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")


def _visible(value) -> str:
    """The value as text with control, bidi and invisible characters spelled out."""
    text = "" if value is None else str(value)
    text = _SURROGATE.sub("\ufffd", text)

    def spell(m: re.Match) -> str:
        ch = m.group(0)
        if ch in _NAMED:
            return _NAMED[ch]
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"

    return _INVISIBLE.sub(spell, text)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}\u2026 (+{len(text) - limit + 1:,} chars)"


def _t(value, limit: int | None = CELL_CHARS) -> str:
    """Escaped text for element content, made visible and cut to ``limit`` characters."""
    text = _visible(value)
    return html.escape(_cut(text, limit) if limit else text, quote=True)


def _a(value) -> str:
    """Escaped attribute value (quotes included); cut hard so attributes stay small."""
    return html.escape(_visible(value)[:120], quote=True)


def _safe_href(href: str) -> str | None:
    """A relative link to another page of the report, or None (no scheme, no other host)."""
    href = (href or "").strip()
    if not href or href.startswith(("//", "\\")) or "\\" in href or _SCHEME.match(href) or _INVISIBLE.search(href):
        return None
    return href


def _finite(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _exact(value) -> str:
    """The exact number for a data-value attribute."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    number = _finite(value)
    if number is None:
        return ""
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


def _int(value) -> str:
    return "\u2013" if value is None else f"{int(value):,}"


def _num(value) -> str:
    number = _finite(value)
    if number is None:
        return "\u2013"
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.2f}"


def _pct(value, digits: int = 2) -> str:
    number = _finite(value)
    return "\u2013" if number is None else f"{number * 100:.{digits}f}%"


def _compact(number: float) -> str:
    number = float(number)
    magnitude = abs(number)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            text = f"{number / limit:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    if number.is_integer():
        return str(int(number))
    return f"{number:.2f}".rstrip("0").rstrip(".")


def _ratio(part, whole) -> float | None:
    part, whole = _finite(part), _finite(whole)
    if part is None or not whole:
        return None
    return part / whole


def _metric_cell(metric: str, value, text: str | None = None, cls: str = "num") -> str:
    shown = text if text is not None else (_int(value) if isinstance(value, int) else _num(value))
    exact = _exact(value)
    hook = f' data-value="{exact}"' if exact != "" else ' data-missing="true"'
    return f'<td class="{cls}" data-metric="{_a(metric)}"{hook}>{shown}</td>'


# --------------------------------------------------------------------------- page shell

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"

_CSS = """
:root{color-scheme:light;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg2:#f6f8fa;
--ok:#1a7f37;--warn:#9a6700;--crit:#cf222e;--fail:#8250df;--miss:#6e7781}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
margin:0 auto;padding:16px 24px 48px;max-width:1100px;background:#fff}
h1{font-size:22px;margin:8px 0 4px;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:18px 0 6px}
p{margin:6px 0}
.muted,.meta{color:var(--muted)}
.meta{font-size:12px;margin-bottom:12px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--bg2);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.raw{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11px;
max-width:360px;overflow-wrap:anywhere}
.rate{color:var(--muted);font-size:11px;margin-left:4px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;
color:#fff;text-transform:uppercase;letter-spacing:.03em}
.badge.ok{background:var(--ok)}.badge.warning{background:var(--warn)}
.badge.critical{background:var(--crit)}.badge.failed{background:var(--fail)}
.badge.missing{background:var(--miss)}
.scroll{overflow-x:auto}
svg{display:block;max-width:100%;height:auto;font-family:system-ui,sans-serif}
svg text:not([fill]){fill:var(--fg)}
.legend{list-style:none;padding:0;margin:2px 0 4px;display:flex;gap:14px;flex-wrap:wrap;font-size:12px}
.swatch{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:4px}
.swatch.dashed{background:none!important;border-top:2px dashed}
details{margin:6px 0}
summary{cursor:pointer;color:var(--muted)}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:11px;margin:4px 0;background:var(--bg2);padding:6px}
.null{color:var(--muted);font-style:italic}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:8px 24px}
td.day{white-space:nowrap}
a{color:#0969da}
"""


def _document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_t(title, 200)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _badge(status: str) -> str:
    status = status if status in STATUSES else "missing"
    return f'<span class="badge {status}" data-status="{status}">{status}</span>'


# --------------------------------------------------------------------------- charts

_PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#bf3989", "#6e7781", "#9a6700", "#0550ae", "#a40e26", "#116329")


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw - 1e-12)
    start = math.floor(low / step + 1e-9) * step
    ticks = []
    value = start
    while value < high - 1e-9 * step:
        ticks.append(float(round(value, 12)))
        value += step
    ticks.append(float(round(value, 12)))
    return ticks


@dataclass(frozen=True)
class _Series:
    name: str
    values: list[float | None]
    color: str
    dashed: bool = False


def _legend(series: list[_Series]) -> str:
    items = []
    for s in series:
        style = f"border-color:{s.color}" if s.dashed else f"background:{s.color}"
        dashed = " dashed" if s.dashed else ""
        items.append(f'<li><span class="swatch{dashed}" style="{style}"></span>{_t(s.name, 40)}</li>')
    return f'<ul class="legend">{"".join(items)}</ul>'


def _line_chart(chart: str, title: str, y_label: str, days: list[date], series: list[_Series], fmt) -> str:
    """An SVG line chart over ``days`` (chronological); ``None`` values leave gaps."""
    width, height = 520, 230
    left, right, top, bottom = 62, 14, 12, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in map(_finite, s.values) if v is not None]
    low = min([0.0, *values])
    high = max(values, default=1.0)
    ticks = _nice_ticks(low, high if high > low else low + 1.0)
    y0, y1 = ticks[0], ticks[-1]
    first = days[0].toordinal() if days else 0
    span = (days[-1].toordinal() - first) if days else 0

    def x_of(day: date) -> float:
        if span == 0:
            return left + plot_w / 2
        return left + (day.toordinal() - first) / span * plot_w

    def y_of(value: float) -> float:
        return top + plot_h - (value - y0) / (y1 - y0) * plot_h

    parts = [
        f'<svg data-chart="{_a(chart)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{_a(title)}">',
        f"<title>{_t(title, 120)}</title>",
    ]
    for tick in ticks:
        y = y_of(tick)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" data-tick="y">{_t(fmt(tick), 20)}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#8c959f"/>')
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#8c959f"/>')
    if days:
        shown = list(range(len(days)))
        if len(days) > 7:
            step = math.ceil((len(days) - 1) / 6)
            shown = list(range(0, len(days), step))
            if len(days) - 1 - shown[-1] >= step / 2:
                shown.append(len(days) - 1)
            else:
                shown[-1] = len(days) - 1
        for i in shown:
            x = x_of(days[i])
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="#8c959f"/>')
            parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" font-size="10" text-anchor="middle" data-tick="x">{days[i]:%m-%d}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="11" text-anchor="middle" fill="#656d76">ingest day (UTC)</text>'
    )
    parts.append(
        f'<text transform="translate(13 {top + plot_h / 2:.1f}) rotate(-90)" font-size="11" text-anchor="middle">{_t(y_label, 40)}</text>'
    )
    if not values:
        parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" font-size="12" text-anchor="middle">no data</text>')
    for s in series:
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        segment: list[str] = []
        segments: list[list[str]] = []
        for day, raw in zip(days, s.values):
            value = _finite(raw)
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x_of(day):.1f},{y_of(value):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{s.color}" stroke-width="1.8"{dash}/>')
        series_attr = _a(s.name)
        for day, raw in zip(days, s.values):
            value = _finite(raw)
            if value is None:
                continue
            parts.append(
                f'<circle cx="{x_of(day):.1f}" cy="{y_of(value):.1f}" r="2.6" fill="{s.color}" '
                f'data-series="{series_attr}" data-day="{day.isoformat()}" data-value="{_exact(value)}">'
                f"<title>{series_attr} {day.isoformat()}: {_t(fmt(value), 30)}</title></circle>"
            )
    parts.append("</svg>")
    return f'<figure class="chart"><h3>{_t(title, 120)}</h3>{_legend(series)}{"".join(parts)}</figure>'


def _bar_chart(chart: str, items: list[tuple[str, int]], total: int | None, title: str) -> str:
    """A horizontal SVG bar chart of (label, count); the share is of ``total``."""
    row, label_w, bar_w, value_w = 22, 300, 330, 130
    width, height = label_w + bar_w + value_w, row * len(items) + 8
    peak = max((c for _, c in items), default=1) or 1
    parts = [
        f'<svg data-chart="{_a(chart)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{_a(title)}"><title>{_t(title, 120)}</title>'
    ]
    for i, (label, count) in enumerate(items):
        y = 4 + i * row
        length = max(1.0, count / peak * bar_w) if count else 0.0
        share = _ratio(count, total)
        share_text = f" ({share * 100:.1f}%)" if share is not None else ""
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end" class="mono">{_t(label, _LABEL_CHARS)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row - 7}" fill="#cf222e" fill-opacity="0.78" '
            f'data-label="{_a(label)}" data-value="{int(count)}"><title>{_t(label, CELL_CHARS)}: {count:,}</title></rect>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + 15}" font-size="12">{count:,}{share_text}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _coverage_strip(counts: list[int]) -> str:
    """24 cells, one per UTC hour: shade by clean events; empty hours red, crossed and labelled."""
    cell, gap, left, top = 34, 2, 4, 4
    width = left * 2 + 24 * (cell + gap)
    height = top + cell + 36
    peak = max(counts) or 1
    parts = [
        f'<svg data-chart="coverage" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="clean events per UTC hour"><title>clean events per UTC hour</title>'
    ]
    for hour, count in enumerate(counts):
        x = left + hour * (cell + gap)
        if count == 0:
            parts.append(
                f'<g data-hour="{hour}" data-value="0" data-empty="true">'
                f'<rect x="{x}" y="{top}" width="{cell}" height="{cell}" fill="#ffebe9" stroke="#cf222e" stroke-width="1.5">'
                f"<title>{hour:02d}:00 UTC: no clean events</title></rect>"
                f'<line x1="{x + 4}" y1="{top + 4}" x2="{x + cell - 4}" y2="{top + cell - 4}" stroke="#cf222e"/>'
                f'<line x1="{x + cell - 4}" y1="{top + 4}" x2="{x + 4}" y2="{top + cell - 4}" stroke="#cf222e"/>'
                f'<text x="{x + cell / 2}" y="{top + cell + 26}" font-size="9" text-anchor="middle" fill="#cf222e" '
                f'font-weight="600" class="empty-label">empty</text></g>'
            )
        else:
            shade = 0.15 + 0.85 * count / peak
            ink = "#ffffff" if shade > 0.55 else "#1f2328"
            parts.append(
                f'<g data-hour="{hour}" data-value="{int(count)}" data-empty="false">'
                f'<rect x="{x}" y="{top}" width="{cell}" height="{cell}" fill="#0969da" fill-opacity="{shade:.2f}">'
                f"<title>{hour:02d}:00 UTC: {count:,} clean events</title></rect>"
                f'<text x="{x + cell / 2}" y="{top + cell / 2 + 4}" font-size="9" text-anchor="middle" fill="{ink}">{_compact(float(count))}</text></g>'
            )
        parts.append(f'<text x="{x + cell / 2}" y="{top + cell + 13}" font-size="10" text-anchor="middle">{hour:02d}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _volume_chart(clean: int, baseline: float | None) -> str:
    bars = [("clean events", float(clean), "#0969da", "clean")]
    if baseline is not None:
        bars.append(("trailing median", baseline, "#8c959f", "baseline"))
    width, row, label_w, bar_w = 640, 26, 130, 380
    peak = max(v for _, v, _, _ in bars) or 1.0
    parts = [
        f'<svg data-chart="volume" viewBox="0 0 {width} {row * len(bars) + 8}" width="{width}" height="{row * len(bars) + 8}" '
        'role="img" aria-label="clean events against the trailing median">'
    ]
    for i, (label, value, color, key) in enumerate(bars):
        y = 4 + i * row
        length = max(1.0, value / peak * bar_w) if value else 0.0
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" font-size="12" text-anchor="end">{label}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" fill="{color}" '
            f'data-series="{key}" data-value="{_exact(value)}"/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + 17}" font-size="12">{_num(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------- day page

_COUNT_COLUMNS = (
    ("total", "raw rows"),
    ("clean", "clean"),
    ("quarantine", "quarantined"),
    ("dropped_duplicates", "dropped duplicates"),
    ("malformed", "malformed"),
)


def _count(section: dict, key: str) -> int:
    value = _finite(section.get(key))
    return int(value) if value is not None else 0


def _accounting_table(report: dict) -> str:
    head = "".join(f'<th class="num">{label}</th>' for _, label in _COUNT_COLUMNS)
    rows = []
    for entity in ENTITIES:
        section = report.get(entity) or {}
        total = _count(section, "total")
        cells = [f'<th scope="row">{entity}</th>']
        for key, _ in _COUNT_COLUMNS:
            value = _count(section, key)
            rate = "" if key == "total" else f'<span class="rate" data-metric="{entity}.{key}_rate" data-value="{_exact(_ratio(value, total))}">{_pct(_ratio(value, total), 1)}</span>'
            cells.append(
                f'<td class="num" data-metric="{entity}.{key}" data-value="{value}">{_int(value)}</td>'
                if key == "total"
                else f'<td class="num"><span data-metric="{entity}.{key}" data-value="{value}">{_int(value)}</span>{rate}</td>'
            )
        feed = bool(section.get("feed_present", bool(section)))
        conserved = section.get("conservation_ok")
        cells.append(f'<td data-metric="{entity}.feed_present" data-value="{_exact(feed)}">{"yes" if feed else "<strong>missing</strong>"}</td>')
        cells.append(
            f'<td data-metric="{entity}.conservation_ok" data-value="{_exact(bool(conserved))}">'
            f'{"adds up" if conserved else "<strong>does not add up</strong>"}</td>'
        )
        rows.append(f'<tr data-entity="{entity}">{"".join(cells)}</tr>')
    return (
        '<div class="scroll"><table data-table="accounting"><thead><tr><th>entity</th>'
        f"{head}<th>feed</th><th>raw = clean + quarantined + dropped</th></tr></thead>"
        f'<tbody>{"".join(rows)}</tbody></table></div>'
        '<p class="muted">Rates are of the entity\'s raw rows; malformed lines are part of the quarantined rows.</p>'
    )


def _volume_section(report: dict, baseline: float | None) -> str:
    clean = _count(report.get("events") or {}, "clean")
    baseline = _finite(baseline)
    if baseline is None:
        line = (
            f'<p><span data-metric="volume.clean" data-value="{clean}">{_int(clean)}</span> clean events; '
            '<strong data-metric="volume.baseline" data-missing="true">no baseline yet</strong> '
            "(too few earlier days with an events feed).</p>"
        )
    else:
        diff = (clean - baseline) / baseline if baseline else None
        diff_text = "\u2013" if diff is None else f"{diff * 100:+.1f}%"
        line = (
            f'<p><span data-metric="volume.clean" data-value="{clean}">{_int(clean)}</span> clean events against the trailing median '
            f'<span data-metric="volume.baseline" data-value="{_exact(baseline)}">{_num(baseline)}</span>: '
            f'<strong data-metric="volume.diff_pct" data-value="{_exact(diff * 100 if diff is not None else None)}">{diff_text}</strong>.</p>'
        )
    return line + _volume_chart(clean, baseline)


def _coverage_section(counts: list[int]) -> str:
    empty = [h for h, c in enumerate(counts) if c == 0]
    if empty:
        ranges, start = [], empty[0]
        for prev, cur in zip(empty, empty[1:] + [None]):
            if cur != prev + 1 if cur is not None else True:
                ranges.append(f"{start:02d}" if start == prev else f"{start:02d}\u2013{prev:02d}")
                start = cur
        summary = (
            f'<p><strong data-metric="coverage.empty_hours" data-value="{len(empty)}">{len(empty)} of 24</strong> '
            f"UTC hours have no clean events: {', '.join(ranges)} UTC.</p>"
        )
    else:
        summary = '<p><span data-metric="coverage.empty_hours" data-value="0">All 24</span> UTC hours have clean events.</p>'
    total = sum(counts)
    return summary + _coverage_strip(counts) + f'<p class="muted">{_int(total)} clean events inside the day\'s 24 UTC hours.</p>'


def _alerts_section(alerts: dict) -> str:
    fired = alerts.get("alerts") or []
    skipped = alerts.get("skipped") or []
    parts = []
    if fired:
        rows = []
        for alert in sorted(fired, key=lambda a: -_SEVERITY_RANK.get(a.get("severity"), 0)):
            severity = alert.get("severity") if alert.get("severity") in _SEVERITY_RANK else "warning"
            details = alert.get("details")
            detail_html = ""
            if details:
                text = json.dumps(details, ensure_ascii=False, default=str, sort_keys=True)
                detail_html = f"<details><summary>details</summary><pre>{_t(text, _DETAIL_CHARS)}</pre></details>"
            rows.append(
                f'<tr data-alert-type="{_a(alert.get("type"))}" data-severity="{severity}">'
                f"<td>{_badge(severity)}</td><td><code>{_t(alert.get('type'))}</code></td>"
                f"<td>{_t(alert.get('message'), _MESSAGE_CHARS)}{detail_html}</td></tr>"
            )
        parts.append(
            '<table data-table="alerts"><thead><tr><th>severity</th><th>type</th><th>message</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>'
        )
    else:
        parts.append("<p>No alerts.</p>")
    if skipped:
        items = "".join(f"<li><code>{_t(s.get('type'))}</code>: {_t(s.get('reason'), _MESSAGE_CHARS)}</li>" for s in skipped)
        parts.append(
            f'<details data-skipped="{len(skipped)}"><summary>{len(skipped)} check(s) skipped</summary><ul>{items}</ul></details>'
        )
    return "".join(parts)


def _simple_table(name: str, header: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    return f'<div class="scroll"><table data-table="{name}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _sample_table(entity: str, rows: list[dict], quarantined: int) -> str:
    first = ["reject_reason", "source_file", "source_line"]
    columns = list(first)
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append('<td class="raw"><span class="null">null</span></td>')
            elif column == "source_line":
                cells.append(f'<td class="num" data-value="{_exact(value)}">{_t(value)}</td>')
            else:
                cells.append(f'<td class="raw">{_t(value)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    header = "".join(f"<th>{_t(c, 40)}</th>" for c in columns)
    return (
        f'<p class="muted">{len(rows)} of {quarantined:,} quarantined rows (masked, cells cut at {CELL_CHARS} characters).</p>'
        f'<div class="scroll"><table data-table="sample-{entity}"><thead><tr>{header}</tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table></div>'
    )


def _entity_section(entity: str, section: dict, samples: list[dict]) -> str:
    parts = [f'<section id="{entity}" data-entity="{entity}"><h2>{entity}</h2>']
    if not section or not section.get("feed_present", True):
        parts.append("<p><strong>No file for this day</strong> (missing feed).</p>")
    files = section.get("files") or []
    if files:
        parts.append(f"<p class=\"muted\">files: {', '.join(f'<code>{_t(f)}</code>' for f in files)}</p>")
    repaired = section.get("encoding_repaired_files") or []
    if repaired:
        parts.append(f"<p>latin-1 repair needed: {', '.join(f'<code>{_t(f)}</code>' for f in repaired)}</p>")
    quarantined = _count(section, "quarantine")

    by_reason = section.get("by_reason") or {}
    parts.append("<h3>Reject reasons</h3>")
    if by_reason:
        items = sorted(((str(k), int(_finite(v) or 0)) for k, v in by_reason.items()), key=lambda kv: (-kv[1], kv[0]))
        parts.append(
            f'<p class="muted">Rows per single reason code (a row with several reasons counts once per code); '
            f"share of the {quarantined:,} quarantined rows.</p>"
        )
        parts.append(f'<div class="scroll">{_bar_chart(f"reasons-{entity}", items, quarantined, f"{entity}: reject reasons")}</div>')
    else:
        parts.append("<p>No rejected rows.</p>")

    combos = section.get("top_reason_combinations") or []
    if combos:
        rows = [
            f'<tr><td class="raw">{_t(c.get("reject_reason"))}</td>'
            f'<td class="num" data-metric="{entity}.reason_combination" data-value="{_exact(c.get("count"))}">{_num(c.get("count"))}</td>'
            f'<td class="num">{_pct(_ratio(c.get("count"), quarantined), 1)}</td></tr>'
            for c in combos
        ]
        parts.append("<h3>Top reason combinations</h3>")
        parts.append(_simple_table(f"combinations-{entity}", ["reject_reason", "rows", "share of quarantined"], rows))

    unknown = section.get("unknown_values") or {}
    parts.append("<h3>Unknown category values</h3>")
    unknown_rows = []
    for column, values in unknown.items():
        for item in values or []:
            spellings = ", ".join(_t(s, 40) for s in (item.get("spellings") or []))
            unknown_rows.append(
                f'<tr data-column="{_a(column)}" data-unknown="{_a(item.get("value"))}"><td><code>{_t(column)}</code></td>'
                f'<td class="raw">{_t(item.get("value"))}</td>'
                f'<td class="num" data-metric="{entity}.unknown.rows" data-value="{_exact(item.get("rows"))}">{_num(item.get("rows"))}</td>'
                f'<td class="num">{_pct(item.get("share"), 2)}</td><td class="raw">{spellings}</td></tr>'
            )
    if unknown_rows:
        parts.append(_simple_table(f"unknown-{entity}", ["column", "value", "rows", "share of raw rows", "raw spellings"], unknown_rows))
    else:
        parts.append("<p>None.</p>")

    warnings = section.get("by_warning") or {}
    if warnings:
        rows = [
            f'<tr><td><code>{_t(k)}</code></td><td class="num" data-metric="{entity}.warning" data-value="{_exact(v)}">{_num(v)}</td></tr>'
            for k, v in sorted(warnings.items(), key=lambda kv: -(_finite(kv[1]) or 0))
        ]
        parts.append("<h3>Warnings on clean rows</h3>")
        parts.append(_simple_table(f"warnings-{entity}", ["warn code", "clean rows"], rows))

    schema = section.get("schema") or {}
    drift = []
    if schema.get("missing_columns"):
        drift.append(f"missing columns: {', '.join(f'<code>{_t(c)}</code>' for c in schema['missing_columns'])}")
    if schema.get("extra_columns"):
        drift.append(f"extra columns: {', '.join(f'<code>{_t(c)}</code>' for c in schema['extra_columns'])}")
    if schema.get("unmatched_headers"):
        drift.append(f"unmatched headers: <code>{_t(json.dumps(schema['unmatched_headers'], ensure_ascii=False, default=str), 200)}</code>")
    if drift:
        parts.append(f"<h3>Schema drift</h3><p>{'<br>'.join(drift)}</p>")

    duplicates = section.get("duplicates") or {}
    if duplicates:
        parts.append(
            f'<p class="muted">duplicates: full row <span data-metric="{entity}.duplicates.full_row" data-value="{_exact(duplicates.get("full_row"))}">'
            f'{_num(duplicates.get("full_row"))}</span>, same id <span data-metric="{entity}.duplicates.id" '
            f'data-value="{_exact(duplicates.get("id"))}">{_num(duplicates.get("id"))}</span></p>'
        )

    parts.append("<h3>Quarantined rows (sample)</h3>")
    if samples:
        parts.append(_sample_table(entity, samples, quarantined))
    else:
        parts.append("<p>No sample.</p>")
    parts.append("</section>")
    return "".join(parts)


def render_day(page: DayPage) -> str:
    """One self-contained HTML5 document for the day (inline CSS and SVG, no scripts, no loads)."""
    report, alerts = page.report or {}, page.alerts or {}
    status = day_status(alerts)
    day = page.day.isoformat()
    counts = [int(_finite(c) or 0) for c in page.hourly_counts]
    back = _safe_href(page.index_href)
    nav = f'<nav><a href="{_a(back)}">\u2190 all days</a></nav>' if back else ""
    meta = " \u00b7 ".join(
        f"{label} <code>{_t(report.get(key), 60)}</code>" for key, label in (("rule_set_version", "rules"), ("code_version", "code"), ("run_id", "run")) if report.get(key)
    )
    unmatched = report.get("unmatched_files") or []
    unmatched_html = (
        f"<p>Files that match no feed: {', '.join(f'<code>{_t(f)}</code>' for f in unmatched)}</p>" if unmatched else ""
    )
    n_critical = sum(1 for a in alerts.get("alerts") or [] if a.get("severity") == "critical")
    n_warning = sum(1 for a in alerts.get("alerts") or [] if a.get("severity") == "warning")
    body = [
        nav,
        f'<h1 data-day="{day}">prodq data quality \u2014 {day} <span data-metric="day.status" data-value="{status}">{_badge(status)}</span></h1>',
        f'<p class="meta">{meta}</p>' if meta else "",
        "<h2>Row accounting</h2>",
        _accounting_table(report),
        unmatched_html,
        f'<h2>Alerts <span class="muted">(<span data-metric="alerts.critical" data-value="{n_critical}">{n_critical}</span> critical, '
        f'<span data-metric="alerts.warning" data-value="{n_warning}">{n_warning}</span> warning)</span></h2>',
        _alerts_section(alerts),
        "<h2>Volume</h2>",
        _volume_section(report, page.volume_baseline),
        "<h2>Hourly coverage (UTC)</h2>",
        _coverage_section(counts),
    ]
    samples = page.samples or {}
    body.extend(_entity_section(entity, report.get(entity) or {}, samples.get(entity) or []) for entity in ENTITIES)
    return _document(f"prodq {day}: {status}", "\n".join(part for part in body if part))


# --------------------------------------------------------------------------- index page


def _index_table(rows: list[IndexRow]) -> str:
    body = []
    for row in rows:
        day = row.day.isoformat()
        href = _safe_href(row.href)
        link = f'<a href="{_a(href)}" data-link="day">{day}</a>' if href else day
        diff = None
        if row.events_clean is not None and _finite(row.events_baseline):
            diff = (row.events_clean - row.events_baseline) / row.events_baseline * 100
        cells = [
            f'<td class="day">{link}</td>',
            f"<td>{_badge(row.status)}</td>",
            _metric_cell("alerts.critical", int(row.alerts_critical)),
            _metric_cell("alerts.warning", int(row.alerts_warning)),
            _metric_cell("events.clean", None if row.events_clean is None else int(row.events_clean)),
            _metric_cell("events.baseline", _finite(row.events_baseline)),
            _metric_cell("events.diff_pct", diff, "\u2013" if diff is None else f"{diff:+.1f}%"),
        ]
        for entity in ENTITIES:
            rate = _finite((row.quarantine_rate or {}).get(entity))
            cells.append(_metric_cell(f"quarantine_rate.{entity}", rate, _pct(rate, 2)))
        cells.append(_metric_cell("duration_ms.p95", _finite(row.duration_ms_p95)))
        body.append(f'<tr data-day="{day}" data-status="{_a(row.status)}">{"".join(cells)}</tr>')
    header = (
        '<tr><th rowspan="2">day</th><th rowspan="2">status</th><th colspan="2">alerts</th>'
        '<th colspan="3">clean events</th><th colspan="3">quarantine rate</th><th rowspan="2" class="num">duration_ms<br>p95</th></tr>'
        '<tr><th class="num">critical</th><th class="num">warning</th><th class="num">day</th><th class="num">baseline</th>'
        '<th class="num">vs baseline</th>' + "".join(f'<th class="num">{e}</th>' for e in ENTITIES) + "</tr>"
    )
    return f'<div class="scroll"><table data-table="days"><thead>{header}</thead><tbody>{"".join(body)}</tbody></table></div>'


def render_index(rows: list[IndexRow], title: str = "prodq data quality") -> str:
    """One self-contained HTML5 overview: a row per day (newest first) and SVG trend charts."""
    newest_first = sorted(rows, key=lambda r: r.day, reverse=True)
    chronological = newest_first[::-1]
    days = [r.day for r in chronological]
    counts = {s: sum(1 for r in rows if r.status == s) for s in STATUSES}
    summary = (
        f'<p>{len(rows)} day(s)'
        + (f" from {days[0].isoformat()} to {days[-1].isoformat()}" if days else "")
        + ": "
        + ", ".join(f'<span data-metric="days.{s}" data-value="{counts[s]}">{counts[s]} {s}</span>' for s in STATUSES)
        + ".</p>"
    )
    charts = []
    if rows:
        charts.append(
            _line_chart(
                "trend-events-clean",
                "Clean events and trailing median",
                "clean events",
                days,
                [
                    _Series("clean events", [r.events_clean for r in chronological], _PALETTE[0]),
                    _Series("trailing median", [r.events_baseline for r in chronological], "#6e7781", dashed=True),
                ],
                _compact,
            )
        )
        charts.append(
            _line_chart(
                "trend-quarantine-rate",
                "Quarantine rate per entity",
                "share of raw rows",
                days,
                [
                    _Series(entity, [(r.quarantine_rate or {}).get(entity) for r in chronological], _PALETTE[i + 1])
                    for i, entity in enumerate(ENTITIES)
                ],
                lambda v: f"{v * 100:.3g}%",
            )
        )
        charts.append(
            _line_chart(
                "trend-duration-p95",
                "p95 of duration_ms (clean events)",
                "duration_ms",
                days,
                [_Series("duration_ms p95", [r.duration_ms_p95 for r in chronological], _PALETTE[4])],
                _compact,
            )
        )
        currencies = sorted({c for r in rows for c, v in (r.amount_p95 or {}).items() if _finite(v) is not None})
        charts.append(
            _line_chart(
                "trend-amount-p95",
                "p95 of amount per currency (clean orders)",
                "amount",
                days,
                [
                    _Series(currency, [(r.amount_p95 or {}).get(currency) for r in chronological], _PALETTE[i % len(_PALETTE)])
                    for i, currency in enumerate(currencies)
                ],
                _compact,
            )
        )
    body = [
        f"<h1>{_t(title, 120)}</h1>",
        summary,
        "<h2>Days</h2>",
        _index_table(newest_first) if rows else "<p>No days yet.</p>",
        "<h2>Trends</h2>" if charts else "",
        f'<div class="grid">{"".join(charts)}</div>' if charts else "",
        '<p class="muted">Missing values leave gaps in the lines. Baseline: median clean events of the earlier days '
        "the volume alert uses; empty until enough days exist.</p>",
    ]
    return _document(title, "\n".join(part for part in body if part))
