"""The generated part of docs/BENCHMARKS.md (between the bench-compare markers) and its SVG
plots (docs/bench/*.svg), from compare.py's results. Everything outside the markers is
left as it is; without markers the block is appended at the end.
"""

import os
import re

import svg

BEGIN = "<!-- bench-compare:begin -->"
END = "<!-- bench-compare:end -->"

GROUPS = [
    ("throughput", "Throughput at max rate"),
    ("latency", "Latency at a fixed rate (open loop)"),
    ("catch-up", "Catch-up read and backlog drain"),
    ("connections", "Idle connections"),
]


def is_backlog(w):
    """A memory backlog: catch-up bytes published into a subscription, then drained."""
    return bool(w.get("catchup_bytes")) and w.get("kind") != "log"


def latency_of(w):
    """(histogram key, name) of a workload's latency figure: publish-ack for logs."""
    return ("ack_latency_ns", "publish-ack") if w.get("kind") == "log" else \
        ("e2e_latency_ns", "end-to-end")


def group(w):
    if w.get("idle_connections", 0):
        return "connections"
    if w.get("catchup_bytes", 0):
        return "catch-up"
    if w.get("producer_rate", 0):
        return "latency"
    return "throughput"


def headline(w):
    """(label, value of a result, higher_is_better, unit) of a workload's main figure."""
    g = group(w)
    if g == "connections":
        return ("server memory per idle connection, bytes", lambda r: r["bytes_per_connection"],
                False, "B")
    if w.get("idle_topics"):
        return ("server memory per idle topic, bytes", lambda r: r["bytes_per_topic"], False,
                "B")
    if w.get("restart"):
        return ("restart after kill -9: until it serves again, s", lambda r: r["restart_s"],
                False, "s")
    if g == "catch-up" and is_backlog(w):
        return ("drain rate of the backlog, msg/s", lambda r: r["delivered_per_s"], True, "/s")
    if g == "catch-up":
        return ("read rate from the first record, MB/s", lambda r: r["mb_per_s"], True, "MB/s")
    if w.get("group_churn"):
        return ("longest end-to-end delay (the rebalance pause), ms",
                lambda r: r["e2e_latency_ns"]["max"] / 1e6, False, "ms")
    if w.get("request_reply"):
        return ("round trips/s", lambda r: r["delivered_per_s"], True, "/s")
    if g == "latency":
        if w.get("kind") == "log":
            return ("publish-ack p99, µs", lambda r: r["ack_latency_ns"]["p99"] / 1e3, False,
                    "µs")
        return ("end-to-end p99, µs", lambda r: r["e2e_latency_ns"]["p99"] / 1e3, False, "µs")
    if w.get("message_size", 0) >= 65536:
        return ("delivered MB/s", lambda r: r["mb_per_s"], True, "MB/s")
    if w.get("kind") == "log":
        return ("acked records/s", lambda r: r["acked_per_s"], True, "/s")
    return ("delivered msg/s", lambda r: r["delivered_per_s"], True, "/s")


def ok_runs(cell):
    return [r for r in cell.get("runs", []) if not r.get("error")]


def mean(xs):
    return sum(xs) / len(xs) if xs else None


def num(v, unit=""):
    if v is None:
        return "—"
    if unit == "µs":
        return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"
    if unit == "MB/s":
        return f"{v:,.1f}"
    if unit in ("s", "ms"):
        return f"{v:,.2f}" if v < 100 else f"{v:,.0f}"
    return f"{v:,.0f}"


def cell_text(cell, fn, unit):
    runs = ok_runs(cell)
    if not runs:
        st = cell.get("status")
        if st == "unsupported":
            return f"n/a: {cell.get('note', '')}"
        if st == "not built":
            return "driver not built"
        return f"failed: {cell.get('note', '?')}"
    vals = [fn(r) for r in runs]
    s = num(mean(vals), unit)
    if len(vals) > 1 and num(min(vals), unit) != num(max(vals), unit):
        s += f" ({num(min(vals), unit)}–{num(max(vals), unit)})"
    lost = sum(r.get("lost", 0) for r in runs)
    dup = sum(r.get("duplicated", 0) for r in runs)
    errs = sum(r.get("publish_errors", 0) for r in runs)
    if lost or dup or errs:
        s += f" ⚠ lost {lost}, dup {dup}, publish errors {errs}"
    return s


def ratio(w, cells, systems):
    """(text, ferry value, best peer, its value, ferry behind?) for one workload row."""
    label, fn, higher, unit = headline(w)
    f = mean([fn(r) for r in ok_runs(cells.get("ferry", {}))])
    peers = [(s, mean([fn(r) for r in ok_runs(cells.get(s, {}))])) for s in systems
             if s != "ferry"]
    peers = [(s, v) for s, v in peers if v is not None and v > 0]
    if f is None or not peers:
        return "—", f, None, None, False
    best, bv = (max if higher else min)(peers, key=lambda p: p[1])
    r = f / bv
    behind = r < 1 if higher else r > 1
    settled = "" if not overlap(w, cells, best) else ", ranges overlap"
    return f"**{r:.2f}×** (vs {best}{settled})", f, best, bv, behind


def overlap(w, cells, best):
    """Whether ferry's range of rounds and `best`'s overlap: the ratio's side is not settled."""
    _, fn, _, _ = headline(w)
    fv = [fn(r) for r in ok_runs(cells.get("ferry", {}))]
    pv = [fn(r) for r in ok_runs(cells.get(best, {}))]
    return bool(fv and pv) and min(fv) <= max(pv) and min(pv) <= max(fv)


def escape_cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def summary_tables(res, out):
    systems = res["systems"]
    behind = []
    for g, title in GROUPS:
        ws = [w for w in res["workloads"] if group(w) == g]
        if not ws:
            continue
        better = {True: "higher is better", False: "lower is better"}
        out.append(f"#### {title}\n")
        out.append("| workload | figure | " + " | ".join(systems) + " | ferry / best peer |")
        out.append("|---|---|" + "---|" * len(systems) + "---|")
        for w in ws:
            cells = res["cells"].get(w["name"], {})
            label, fn, higher, unit = headline(w)
            row = [f"`{w['name']}`", f"{label} ({better[higher]})"]
            row += [escape_cell(cell_text(cells.get(s, {}), fn, unit)) for s in systems]
            text, fv, best, bv, is_behind = ratio(w, cells, systems)
            row.append(text)
            out.append("| " + " | ".join(row) + " |")
            if is_behind:
                behind.append((w, label, fv, best, bv, unit))
        out.append("")
    return behind


def detail_table(res, w, out):
    systems = res["systems"]
    cells = res["cells"].get(w["name"], {})
    out.append(f"**`{w['name']}`**: {w.get('description', '')}\n")
    out.append("| system | acked/s | delivered/s | MB/s | ack p50 / p99 / p99.9 µs "
               "| e2e p50 / p99 / p99.9 µs | send lag p99 / max µs | lost | dup | server CPU s "
               "| server peak RSS MiB | rounds |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in systems:
        c = cells.get(s, {})
        runs = ok_runs(c)
        if not runs:
            out.append(f"| {s} | " + escape_cell(cell_text(c, None, "")) + " |" + " |" * 11)
            continue

        def m(fn):
            return mean([fn(r) for r in runs])

        def pct(key):
            if not any(r[key].get("count") for r in runs):
                return "—"  # nothing of the kind (e.g. no publish confirms)
            return " / ".join(num(m(lambda r, q=q: r[key][q] / 1e3), "µs")
                              for q in ("p50", "p99", "p999"))

        idle = w.get("idle_connections", 0)
        rate_cells = ([f"{num(m(lambda r: r['bytes_per_connection']))} B/connection", "", ""]
                      if idle else [num(m(lambda r: r["acked_per_s"])),
                                    num(m(lambda r: r["delivered_per_s"])),
                                    num(m(lambda r: r["mb_per_s"]), "MB/s")])
        if is_backlog(w):
            per_message = mean([r["bytes_per_message"] for r in runs
                                if r.get("bytes_per_message")])
            rate_cells[2] += f"; server memory {num(per_message)} B per queued message"
        if w.get("idle_topics"):
            rate_cells[2] += (f"; {w['idle_topics']:,} idle topics: server memory "
                              f"{num(m(lambda r: r['bytes_per_topic']))} B per topic")
        if w.get("restart"):
            rate_cells[2] += (f"; kill -9 and restart: serving again after "
                              f"{m(lambda r: r['restart_s']):.2f} s")
        if w.get("cold_read"):
            data = m(lambda r: r.get("cold_file_bytes", 0))
            resident = m(lambda r: r.get("cold_resident_bytes", 0))
            rate_cells[2] += (f"; page cache dropped: {num(data / 1e6)} MB of data files, "
                              f"{num(resident / 1e6)} MB still cached")
        lat = ["", ""] if idle else [pct("ack_latency_ns"), pct("e2e_latency_ns")]
        # Fixed-rate runs: how late the load generator sent against its schedule (a late
        # send is counted in the latencies too, so a high figure here blames the client).
        lagged = [r for r in runs if r.get("send_lag_ns", {}).get("count")]
        lag = (" / ".join(num(mean([r["send_lag_ns"][q] / 1e3 for r in lagged]), "µs")
                          for q in ("p99", "max")) if lagged else "")
        lat.append(lag)
        row = [s] + rate_cells + lat + [
            str(sum(r.get("lost", 0) for r in runs)),
            str(sum(r.get("duplicated", 0) for r in runs)),
            f"{m(lambda r: r['server_cpu_s']):.2f}",
            f"{m(lambda r: r['server_peak_rss_bytes']) / 1048576:.1f}",
            str(len(runs))]
        out.append("| " + " | ".join(row) + " |")
    out.append("")


def plots(res, plots_dir, out):
    os.makedirs(plots_dir, exist_ok=True)
    systems = res["systems"]
    for w in res["workloads"]:
        cells = res["cells"].get(w["name"], {})
        label, fn, higher, unit = headline(w)
        g = group(w)
        note = lambda c: cell_text(c, fn, unit) if not ok_runs(c) else ""  # noqa: E731
        if g == "latency":
            key, what = latency_of(w)
            rows = []
            for s in systems:
                runs = ok_runs(cells.get(s, {}))
                vals = [mean([r[key][q] / 1e3 for r in runs]) for q in ("p50", "p99", "p999")] \
                    if runs else None
                rows.append((s, vals, note(cells.get(s, {}))))
            body = svg.grouped(f"{w['name']}: {what} latency", w.get("description", ""), rows,
                               ["p50", "p99", "p99.9"], "µs")
            fname = f"latency-{w['name']}.svg"
        else:
            rows = []
            for s in systems:
                runs = ok_runs(cells.get(s, {}))
                rows.append((s, mean([fn(r) for r in runs]) if runs else None,
                             note(cells.get(s, {}))))
            better = "higher is better" if higher else "lower is better"
            body = svg.bars(f"{w['name']}: {label}", f"{better}; {w.get('description', '')}"[:110],
                            rows, "" if unit == "/s" else unit)
            fname = f"{'memory' if g == 'connections' else 'throughput'}-{w['name']}.svg"
        with open(os.path.join(plots_dir, fname), "w") as f:
            f.write(body)
        out.append(f"![{w['name']}](bench/{fname})")
    out.append("")


def sweep_section(res, plots_dir, out):
    """Latency at fractions of each system's own maximum: a table and a plot per workload."""
    sweeps = res.get("sweeps") or {}
    if not sweeps:
        return
    out.append("### Latency against load (rate sweep)\n")
    fractions = ", ".join(f"{f:.0%}" for f in res.get("sweep_fractions", []))
    out.append(f"Each max-rate workload below runs again open loop at {fractions} of each "
               "system's own maximum from the table above (its mean over the rounds), so every "
               "system is compared at the same share of what it can do, not at one rate that is "
               "easy for some and past the limit of others. One run per point. Fixed-rate "
               "producers publish one message per call (no batching, in every driver), so at "
               "the top of a system's range the producers fall behind their schedule, held "
               "back by the system (its back-pressure) or by the load generator itself: a "
               "point sent more than 100 ms late at p99 is marked *sent late* and left out of "
               "the plot, which so ends where the system saturates. A point that reached less "
               "than 90% of its rate without sending late is marked *fell behind*. A system's "
               "ceiling at one message per publish is below its batched maximum.\n")
    by_name = {w["name"]: w for w in res["workloads"]}
    for name, per in sweeps.items():
        w = by_name.get(name, {"name": name})
        key, what = latency_of(w)
        rate_key = "acked_per_s" if w.get("kind") == "log" else "delivered_per_s"
        out.append(f"**`{name}`** ({what} latency; a point that missed its rate shows the rate "
                   "it reached)\n")
        out.append("| system | share of its max | asked /s | reached /s | p50 µs | p99 µs "
                   "| p99.9 µs | send lag p99 µs | lost | dup |")
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        series = []
        for system, points in per.items():
            pts = []
            for p in points:
                r = p["result"]
                if r.get("error"):
                    out.append(f"| {system} | {p['fraction']:.0%} | {p['rate']:,} | "
                               f"failed: {escape_cell(r['error'])} | | | | | | |")
                    continue
                lat = [r[key][q] / 1e3 for q in ("p50", "p99", "p999")]
                lag = r.get("send_lag_ns", {}).get("p99", 0) / 1e3
                # Past some rate the open-loop producers (one message per call) send late,
                # held back by the system or by the generator. Such points are shown, not drawn.
                generator = lag > 100_000
                reached = num(r[rate_key]) + (
                    " (sent late: not plotted)" if generator else
                    " (fell behind)" if r[rate_key] < 0.9 * p["rate"] else "")
                out.append(f"| {system} | {p['fraction']:.0%} | {p['rate']:,} | {reached} | " +
                           " | ".join(num(v, "µs") for v in lat) +
                           f" | {num(lag, 'µs')} | {r.get('lost', 0)} | {r.get('duplicated', 0)} |")
                if lat[1] > 0 and not generator:
                    pts.append((r[rate_key], lat[1]))
            series.append((system, pts))
        out.append("")
        fname = f"sweep-{name}.svg"
        body = svg.curves(f"{name}: {what} p99 against throughput",
                          f"each system at {fractions} of its own maximum; log scale", series,
                          "msg/s reached", "µs")
        with open(os.path.join(plots_dir, fname), "w") as f:
            f.write(body)
        out.append(f"![{name} rate sweep](bench/{fname})\n")


def generated(res, root):
    out = [BEGIN, ""]
    rounds = sorted(set(res.get("rounds", {}).values())) or [0]
    a = res["args"]
    out.append(f"## Side by side with RabbitMQ, NATS and Redis (`make bench-compare`, "
               f"{res['started']})\n")
    out.append("Generated by `bench/compare/compare.py` (everything between the "
               "`bench-compare` markers is rewritten on each run). Raw JSON lines, latency "
               "histograms included, and each run's log: `build/bench-compare/`.")
    runs = sum(len(c.get("runs", [])) for cells in res["cells"].values() for c in cells.values())
    took = f"The {runs} runs took {res.get('compare_s', 0) / 60:.1f} min"
    if res.get("from_make"):
        took += (f"; `make bench-compare` as a whole (install of the peers and build included) "
                 f"{res.get('elapsed_s', 0) / 60:.1f} min")
    out.append(took + ".\n")
    out.append("### Machine and versions\n")
    mc = res.get("machine", {})
    out.append("| | |\n|---|---|")
    for k in ("cpus", "cpu", "memory", "kernel", "os", "disk", "compiler"):
        out.append(f"| {k} | {escape_cell(mc.get(k, '?'))} |")
    for k, v in res.get("versions", {}).items():
        out.append(f"| {k} | {escape_cell(v)} |")
    out.append("")
    out.append("### How it was run\n")
    out.append("Each run gets a fresh server on loopback with a temp data dir, then:\n")
    out.append("```sh\nbuild/bench/ferry-bench --system SYSTEM --broker 127.0.0.1:PORT "
               f"--server-pid PID -w WORKLOAD --warmup-s {a['warmup_s']:g} "
               f"--duration-s {a['duration_s']:g} --json-out FILE\n```\n")
    out.append(f"Per workload the systems run in turn ({', '.join(res['systems'])}), "
               f"{' or '.join(str(r) for r in rounds)} round(s), each round starting with the "
               "next system, so drift of this shared machine hits all alike and none always "
               "runs first; a cell is the mean of its rounds, with the range in brackets. Catch-up and connection workloads take no warm-up or duration. "
               "Server CPU seconds and peak RSS are the server process's (RabbitMQ: beam.smp) "
               "over the whole run. The load generator and the server share the machine's "
               f"cores. Every server runs with an open-files limit of {res.get('open_files', '?')} "
               "(compare.py raises its own to the hard limit; the servers inherit it).\n")
    out.append("| system | server settings |\n|---|---|")
    for s in res["systems"]:
        out.append(f"| {s} | {escape_cell(res.get('settings', {}).get(s, ''))} |")
    out.append("")
    out.append("### Summary\n")
    out.append("The ratio is ferry's figure divided by the best peer's: for throughput above "
               "1 means ferry is ahead, for latency and memory below 1 means ferry is ahead. "
               "`n/a` cells have no equivalent on that system (the reason follows).\n")
    behind = summary_tables(res, out)
    out.append("#### Where ferry is behind\n")
    if not behind:
        out.append("Nowhere in this run.\n")
    for w, label, fv, best, bv, unit in behind:
        out.append(f"- `{w['name']}` ({label}): ferry {num(fv, unit)}, {best} {num(bv, unit)}.")
    if behind:
        out.append("\nWhy, from the profiles: see the hand-written *Where ferry is behind a "
                   "peer, and why* after this generated part.\n")
    out.append("### Plots\n")
    plots(res, res["plots_dir"], out)
    sweep_section(res, res["plots_dir"], out)
    out.append("### Details\n")
    for w in res["workloads"]:
        detail_table(res, w, out)
    out.append("### What each cell measures\n")
    out.append("| workload | system | mapping (from the driver) |\n|---|---|---|")
    for w in res["workloads"]:
        for s in res["systems"]:
            c = res["cells"].get(w["name"], {}).get(s, {})
            text = c.get("equivalence") or ""
            if c.get("status") == "unsupported":
                text = "no equivalent: " + c.get("note", "")
            elif c.get("status") == "not built":
                text = c.get("note", "")
            if text:
                out.append(f"| `{w['name']}` | {s} | {escape_cell(text)} |")
    out.append("")
    out.append(END)
    return "\n".join(out) + "\n"


def write(res, doc, plots_dir, root):
    res = dict(res)
    res["plots_dir"] = plots_dir
    block = generated(res, root)
    text = open(doc).read() if os.path.exists(doc) else "# ferry benchmarks\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    with open(doc, "w") as f:
        f.write(text)
