"""Hand-written SVG charts (no plotting library): horizontal bars, one row per system.

bars():    one value per system (throughput), linear axis from 0.
curves():  latency against throughput, a line per system (the rate sweep).
grouped(): several values per system (latency p50 / p99 / p99.9), log axis.
Missing values (unsupported, failed) are drawn as a labelled empty row, so every system of
the table appears in the chart too.
"""

import math
from xml.sax.saxutils import escape

FERRY = "#d9480f"
PEER = "#4263eb"
SERIES = ["#74c0fc", "#4263eb", "#1b1f5e"]  # p50, p99, p99.9
SERIES_FERRY = ["#ffc078", "#f76707", "#a61e06"]
FONT = 'font-family="sans-serif"'


def _fmt(v, unit):
    if unit == "µs" and v >= 1e3:  # latencies from 1 ms on read better in ms
        return f"{v / 1e3:,.1f} ms" if v < 1e4 else f"{v / 1e3:,.0f} ms"
    if v >= 1e6:
        s = f"{v / 1e6:.2f} M"
    elif v >= 1e4:
        s = f"{v / 1e3:.0f} k"
    elif v >= 100 or v == int(v):
        s = f"{v:.0f} "
    else:
        s = f"{v:.1f} "
    return (s + unit).strip()


def _ticks(v):
    """A round step (1, 2, 2.5 or 5 × 10^k) and how many of them cover 0..v."""
    if v <= 0:
        return 1.0, 1
    raw = v / 5
    e = 10 ** math.floor(math.log10(raw))
    step = next(m * e for m in (1, 2, 2.5, 5, 10) if m * e >= raw)
    return step, max(1, math.ceil(v / step - 1e-9))


def _frame(title, subtitle, width, height, body):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
            f'<text x="10" y="20" {FONT} font-size="14" font-weight="bold">{escape(title)}</text>\n'
            f'<text x="10" y="38" {FONT} font-size="12" fill="#555">{escape(subtitle)}</text>\n'
            + body + "</svg>\n")


def bars(title, subtitle, rows, unit):
    """rows: [(system, value or None, note)]; value None draws the note instead."""
    left, right, top, row_h = 120, 130, 50, 26
    width = 720
    plot_w = width - left - right
    height = top + row_h * len(rows) + 30
    step, n = _ticks(max([v for _, v, _ in rows if v] or [1]))
    vmax = step * n
    out = []
    for i in range(n + 1):  # grid
        x = left + plot_w * i / n
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" '
                   f'y2="{height - 26}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 10}" {FONT} font-size="12" '
                   f'text-anchor="middle" fill="#555">{escape(_fmt(step * i, ""))}</text>')
    for i, (system, v, note) in enumerate(rows):
        y = top + i * row_h
        out.append(f'<text x="{left - 8}" y="{y + 16}" {FONT} font-size="12" text-anchor="end">'
                   f'{escape(system)}</text>')
        if v is None:
            out.append(f'<text x="{left + 4}" y="{y + 16}" {FONT} font-size="12" fill="#888" '
                       f'font-style="italic">{escape(note[:90])}</text>')
            continue
        w = plot_w * v / vmax
        color = FERRY if system == "ferry" else PEER
        out.append(f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                   f'fill="{color}"/>')
        out.append(f'<text x="{left + w + 4:.1f}" y="{y + 16}" {FONT} font-size="12">'
                   f'{escape(_fmt(v, unit))}</text>')
    return _frame(title, subtitle, width, height, "\n".join(out) + "\n")


def grouped(title, subtitle, rows, series, unit):
    """rows: [(system, [values] or None, note)]; log-scale axis (values > 0)."""
    left, right, top = 120, 110, 50
    bar_h, gap = 9, 10
    row_h = bar_h * len(series) + gap
    width = 720
    plot_w = width - left - right
    height = top + row_h * len(rows) + 50
    vals = [v for _, vs, _ in rows if vs for v in vs if v and v > 0]
    lo = 10 ** math.floor(math.log10(min(vals))) if vals else 1
    hi = 10 ** math.ceil(math.log10(max(vals))) if vals else 10
    if hi <= lo:
        hi = lo * 10

    def xpos(v):
        return left + plot_w * (math.log10(max(v, lo)) - math.log10(lo)) / (
            math.log10(hi) - math.log10(lo))

    out = []
    decade = lo
    while decade <= hi * 1.0001:
        x = xpos(decade)
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 46}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 30}" {FONT} font-size="12" text-anchor="middle" '
                   f'fill="#555">{escape(_fmt(decade, unit))}</text>')
        decade *= 10
    for i, (system, vs, note) in enumerate(rows):
        y = top + i * row_h
        out.append(f'<text x="{left - 8}" y="{y + row_h / 2 + 2:.1f}" {FONT} font-size="12" '
                   f'text-anchor="end">{escape(system)}</text>')
        if not vs:
            out.append(f'<text x="{left + 4}" y="{y + row_h / 2 + 2:.1f}" {FONT} font-size="12" fill="#888" '
                       f'font-style="italic">{escape(note[:90])}</text>')
            continue
        colors = SERIES_FERRY if system == "ferry" else SERIES
        for j, v in enumerate(vs):
            yy = y + j * bar_h
            x = xpos(v)
            out.append(f'<rect x="{left}" y="{yy}" width="{x - left:.1f}" '
                       f'height="{bar_h - 1}" fill="{colors[j % len(colors)]}"/>')
            out.append(f'<text x="{x + 4:.1f}" y="{yy + bar_h - 1}" {FONT} font-size="10">'
                       f'{escape(series[j])} {escape(_fmt(v, unit))}</text>')
    lx = left
    for j, s in enumerate(series):  # legend
        out.append(f'<rect x="{lx}" y="{height - 18}" width="12" height="10" '
                   f'fill="{SERIES[j % len(SERIES)]}"/>')
        out.append(f'<text x="{lx + 16}" y="{height - 9}" {FONT} font-size="12">{escape(s)}</text>')
        lx += 80
    out.append(f'<text x="{lx + 10}" y="{height - 9}" {FONT} font-size="12" fill="#555">'
               f'(ferry in orange; log scale)</text>')
    return _frame(title, subtitle, width, height, "\n".join(out) + "\n")


def curves(title, subtitle, series, x_unit, y_unit):
    """Latency against throughput: series [(system, [(x, y), ...])], one line with points
    per system; linear x from 0, log y."""
    left, right, top, bottom = 80, 140, 50, 50
    width, height = 720, 400
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts if y > 0]
    step, n = _ticks(max(xs or [1]))
    xmax = step * n
    lo = 10 ** math.floor(math.log10(min(ys))) if ys else 1
    hi = 10 ** math.ceil(math.log10(max(ys))) if ys else 10
    if hi <= lo:
        hi = lo * 10

    def xpos(x):
        return left + plot_w * x / xmax

    def ypos(y):
        frac = (math.log10(max(y, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return top + plot_h * (1 - frac)

    out = []
    for i in range(n + 1):
        x = xpos(step * i)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" {FONT} font-size="12" '
                   f'text-anchor="middle" fill="#555">{escape(_fmt(step * i, ""))}</text>')
    decade = lo
    while decade <= hi * 1.0001:
        y = ypos(decade)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" {FONT} font-size="12" text-anchor="end" '
                   f'fill="#555">{escape(_fmt(decade, y_unit))}</text>')
        decade *= 10
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 12}" {FONT} font-size="12" '
               f'text-anchor="middle">{escape(x_unit)}</text>')
    palette = ["#4263eb", "#0ca678", "#ae3ec9", "#f59f00", "#495057"]
    k = 0
    for i, (system, pts) in enumerate(series):
        if system == "ferry":
            color = FERRY
        else:
            color = palette[k % len(palette)]
            k += 1
        pts = sorted(pts)
        if not pts:
            continue
        path = " ".join(f"{xpos(x):.1f},{ypos(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in pts:
            out.append(f'<circle cx="{xpos(x):.1f}" cy="{ypos(y):.1f}" r="3" fill="{color}"/>')
        ly = top + 14 + i * 18
        out.append(f'<line x1="{left + plot_w + 12}" y1="{ly - 4}" x2="{left + plot_w + 30}" '
                   f'y2="{ly - 4}" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{left + plot_w + 34}" y="{ly}" {FONT} font-size="12">'
                   f'{escape(system)}</text>')
    return _frame(title, subtitle, width, height, "\n".join(out) + "\n")
