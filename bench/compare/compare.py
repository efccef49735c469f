#!/usr/bin/env python3
"""bench-compare: ferry against RabbitMQ, NATS (core and JetStream) and Redis (pub/sub and
streams), side by side, on this machine, with the same load generator (ferry-bench and its
drivers, bench/drivers/).

For every workload of bench/workloads/, every system runs in turn (ferry, rabbitmq, nats,
jetstream, redis-pubsub, redis-streams, then a second round if the time budget allows), so
drift of the machine hits all systems alike. Each run gets a fresh server on loopback with a
temp data dir (servers.py has the settings). Afterwards the generated part of
docs/BENCHMARKS.md (between its bench-compare markers) is rewritten with the machine, the
versions, the settings, the tables and SVG plots (report.py); the hand-written rest stays.

Usage (`make bench-compare` runs it after building and installing the peers):
  bench/compare/compare.py [--warmup-s 1] [--duration-s 5] [--rounds 2] [--budget-s 1800]
  bench/compare/compare.py --full        (BENCH_FULL=1: longer runs, more rounds)
  bench/compare/compare.py --report-only build/bench-compare/results.json

Python 3 standard library only. Every server is stopped on exit, Ctrl-C and errors.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import machine  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402

SYSTEMS = ["ferry", "rabbitmq", "nats", "jetstream", "redis-pubsub", "redis-streams"]
STANDARD = ["mem-throughput-100B", "mem-pubsub-100B", "mem-fanout-8", "mem-latency-5k",
            "mem-latency-5k-acks", "log-durable-1KiB", "log-latency-5k", "log-catchup-1GiB",
            "connections-10k"]
# The rate sweep: these max-rate workloads run again at fixed rates, each system at these
# fractions of its own maximum measured in the same run (latency against load).
SWEEPS = ["mem-throughput-100B", "log-durable-1KiB"]
SWEEP_FRACTIONS = [0.1, 0.5, 0.8, 0.95]
# Memory backlogs are cut to this in the 30-minute run (--full runs the files as they are):
# RabbitMQ takes about a minute per million backlogged messages here.
QUICK_BACKLOG_BYTES = 100_000_000
# Restart workloads write this much in the 30-minute run (--full: the file's 10 GB).
QUICK_RESTART_BYTES = 2**29
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def log(msg):
    print(f"[bench-compare {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load_workload(path):
    """The flat `key: value` YAML of bench/workloads/ (comments and quotes stripped)."""
    w = {"name": os.path.basename(path)[:-5]}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].rstrip()
            if ":" not in line or line.startswith(" "):
                continue
            k, v = (s.strip() for s in line.split(":", 1))
            v = v.strip("'\"")
            try:
                w[k] = int(v)
            except ValueError:
                try:
                    w[k] = float(v)
                except ValueError:
                    w[k] = {"true": True, "false": False}.get(v, v)
    return w


def workloads(directory, names):
    files = sorted(f[:-5] for f in os.listdir(directory) if f.endswith(".yaml"))
    order = [n for n in STANDARD if n in files] + [n for n in files if n not in STANDARD]
    if names:
        order = [n for n in order if n in names]
    return [load_workload(os.path.join(directory, n + ".yaml")) for n in order]


def built_systems(bench):
    """Systems whose driver is compiled into ferry-bench (its --list)."""
    if not os.access(bench, os.X_OK):
        return set()
    try:
        out = subprocess.run([bench, "--list"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=30).stdout.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return set()
    for line in out.splitlines():
        if line.startswith("systems:"):
            return set(line.split(":", 1)[1].split())
    return set()


def last_json(path):
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def snapshot(path, workdir):
    """A private copy of binary `path` in workdir/bin (waiting out a link in progress)."""
    dest = os.path.join(workdir, "bin", os.path.basename(path))
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    for _ in range(60):
        if os.access(path, os.X_OK):
            try:
                shutil.copy2(path, dest)
                return dest
            except OSError:
                pass
        elif not os.path.exists(path):
            return path  # not built: reported as such
        time.sleep(1)
    return path


class runner:
    """Runs ferry-bench for one (workload, system) against a fresh server."""

    def __init__(self, args, raw_dir, workdir):
        self.args = args
        self.raw_dir = raw_dir
        self.workdir = workdir
        # Copies taken at the start: every run uses the same binaries even if the build
        # directory is rebuilt meanwhile.
        self.bench = snapshot(os.path.join(args.build_dir, "bench", "ferry-bench"), workdir)
        self.ferryd = snapshot(os.path.join(args.build_dir, "broker", "ferryd"), workdir)
        self.current = None  # the running server, for cleanup

    def command(self, w, system, broker, pid, json_out, rate=None, data_dir=None):
        cmd = [self.bench, "--system", system, "--broker", broker, "--server-pid", str(pid),
               "--workloads-dir", self.args.workloads_dir, "-w", w["name"],
               "--json-out", json_out]
        if data_dir:
            cmd += ["--server-data-dir", data_dir]  # cold reads drop its page cache
        if not w.get("catchup_bytes") and not w.get("idle_connections"):
            cmd += ["--warmup-s", str(self.args.warmup_s),
                    "--duration-s", str(self.args.duration_s)]
        if rate is not None:
            cmd += ["--rate", str(rate)]
        if report.is_backlog(w) or w.get("restart"):
            cmd += ["--catchup-bytes", str(backlog_bytes(w, self.args))]
        return cmd

    def probe(self, w, system):
        """Asks the driver without a server: its reason if unsupported, its equivalence."""
        out = os.path.join(self.raw_dir, f"probe-{w['name']}-{system}.jsonl")
        if os.path.exists(out):
            os.remove(out)
        try:
            subprocess.run(self.command(w, system, "127.0.0.1:1", 0, out), timeout=30,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (subprocess.TimeoutExpired, OSError):
            return None
        return last_json(out)

    def run(self, w, system, label, rate=None):
        """One run, named by `label` ("r1", "sweep50"); `rate`: fixed, open loop."""
        name = f"{w['name']}-{system}-{label}"
        out = os.path.join(self.raw_dir, name + ".jsonl")
        if os.path.exists(out):
            os.remove(out)
        srv = servers.make_server(system, self.workdir, log, self.ferryd)
        self.current = srv
        t0 = time.time()
        try:
            try:
                host, port, pid = srv.start(w)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                return {"error": f"server did not start: {e}"}
            started = time.time() - t0
            limit = (1800 if self.args.full else 900) if w.get("catchup_bytes") else \
                self.args.warmup_s + self.args.duration_s + 120
            cmd = self.command(w, system, f"{host}:{port}", pid, out, rate, srv.dir)
            with open(os.path.join(self.raw_dir, name + ".log"), "wb") as lf:
                lf.write((" ".join(cmd) + "\n").encode())
                lf.flush()
                try:
                    if w.get("restart"):
                        rc = run_with_restarts(cmd + ["--restart-via-stdio"], lf, limit, srv, w)
                    else:
                        rc = subprocess.run(cmd, stdout=lf, stderr=lf, timeout=limit).returncode
                except subprocess.TimeoutExpired:
                    return {"error": f"ferry-bench did not finish in {limit:.0f} s"}
                except OSError as e:
                    return {"error": f"ferry-bench did not run: {e}"}
            r = last_json(out)
            if r is None:
                return {"error": f"ferry-bench exited {rc} without a result (see {name}.log)"}
            r["server_start_s"] = round(started, 2)
            return r
        finally:
            srv.stop()
            self.current = None
            log(f"  {name}: {time.time() - t0:.1f} s")


def run_with_restarts(cmd, lf, limit, srv, w):
    """Runs ferry-bench for a restart workload: when it prints "ferry-bench: restart-server",
    the server is killed and started again (servers.py restart()) and ferry-bench is told
    "restarted PID" (or "failed WHY"). Its output goes to `lf`. Returns the exit status."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=lf)
    killer = threading.Timer(limit, p.kill)
    killer.start()
    try:
        for line in p.stdout:
            lf.write(line)
            lf.flush()
            if line.strip() != b"ferry-bench: restart-server":
                continue
            try:
                _, _, pid = srv.restart(w)
                answer = f"restarted {pid}\n"
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                answer = f"failed {e}\n".replace("\n", " ").strip() + "\n"
            p.stdin.write(answer.encode())
            p.stdin.flush()
        rc = p.wait()
    finally:
        killer.cancel()
        if p.poll() is None:
            p.kill()
            p.wait()
    if rc == -signal.SIGKILL:
        raise subprocess.TimeoutExpired(cmd, limit)
    return rc


def backlog_bytes(w, args):
    """What a memory-backlog or restart workload writes in this run."""
    quick = QUICK_RESTART_BYTES if w.get("restart") else QUICK_BACKLOG_BYTES
    return w["catchup_bytes"] if args.full else min(w["catchup_bytes"], quick)


def estimate_s(w, system, args):
    """Rough wall time of one run, for the time budget: measured on a 2-core machine (run
    of 2026-11-23: RabbitMQ takes 7-8 s to start and stop, the others under 0.5 s; 1 GiB
    catch-up runs took 5-10 s, RabbitMQ's 39 s), with some margin."""
    rabbit = system == "rabbitmq"
    start = 9 if rabbit else 0.5
    if report.is_backlog(w):
        # A memory backlog (run of 2026-12-07, 2 million 100 B messages: RabbitMQ 119 s,
        # JetStream 31 s, Redis 6.5 s, ferry 3 s).
        return start + backlog_bytes(w, args) / 1e9 * {"rabbitmq": 600, "jetstream": 160}.get(system, 40)
    if w.get("restart"):
        # A catch-up run, the server started a second time, idle topics created first
        # (10,000: RabbitMQ ~100 s with its wait for the stream, the others under 5 s).
        return (2 * start + (backlog_bytes(w, args) / 2**30) * (40 if rabbit else 15) +
                w.get("idle_topics", 0) / 10000 * (100 if rabbit else 5))
    if w.get("catchup_bytes"):
        return start + (w["catchup_bytes"] / 2**30) * (40 if rabbit else 15)
    if w.get("idle_connections"):
        return start + 5 + (w["idle_connections"] / 10000) * (5 if rabbit else 2)
    return start + args.warmup_s + args.duration_s + 0.5


def sweep_estimate_s(plan, args):
    """Wall time of the rate sweep (run after every workload), for the time budget."""
    return sum(len(SWEEP_FRACTIONS) * estimate_s({}, s, args)
               for w, todo in plan if w["name"] in SWEEPS for s in todo)


def sweep(run, results, plan, args, t_start):
    """Runs each sweep workload at SWEEP_FRACTIONS of every system's own maximum of this run
    (its headline figure: delivered or acked msg/s), fixed rate, open loop; a point the time
    budget has no room for is left out (and logged)."""
    for w, todo in plan:
        if w["name"] not in SWEEPS:
            continue
        _, fn, _, _ = report.headline(w)
        per = results["sweeps"].setdefault(w["name"], {})
        for s in todo:
            runs = report.ok_runs(results["cells"][w["name"]][s])
            top = report.mean([fn(r) for r in runs])
            if not top:
                continue
            log(f"{w['name']} sweep, {s}: maximum {top:,.0f}/s")
            per[s] = []
            for f in SWEEP_FRACTIONS:
                if args.budget_s - (time.time() - t_start) - 60 < estimate_s({}, s, args):
                    log(f"  {w['name']} sweep, {s} at {f:.0%}: no time left in the budget")
                    continue
                rate = max(1, int(top * f))
                r = run.run(w, s, f"sweep{round(f * 100)}", rate=rate)
                per[s].append({"fraction": f, "rate": rate, "result": r})


def measure(args, t_start):
    ws = workloads(args.workloads_dir, args.workloads)
    systems = [s for s in SYSTEMS if s in args.systems]
    raw_dir = os.path.abspath(args.raw_dir)
    os.makedirs(raw_dir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="bench-compare-", dir=args.tmp_dir)
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "args": {k: v for k, v in vars(args).items() if k != "report_only"},
               "workloads": ws, "systems": systems, "cells": {}, "rounds": {}, "sweeps": {},
               "sweep_fractions": SWEEP_FRACTIONS}
    t_measure = time.time()
    run = None
    try:
        run = runner(args, raw_dir, workdir)
        built = built_systems(run.bench)
        log(f"systems built into ferry-bench: {' '.join(sorted(built)) or 'none'}")
        plan = []  # (workload, [systems that run])
        for w in ws:
            cells = results["cells"].setdefault(w["name"], {})
            todo = []
            for s in systems:
                if s not in built:
                    cells[s] = {"status": "not built",
                                "note": "driver not built (client library missing at build time)"}
                    continue
                p = run.probe(w, s) or {}
                if p.get("unsupported"):
                    cells[s] = {"status": "unsupported", "note": p["unsupported"],
                                "equivalence": p.get("equivalence", "")}
                    continue
                cells[s] = {"status": "pending", "equivalence": p.get("equivalence", ""),
                            "runs": []}
                todo.append(s)
            plan.append((w, todo))
        one_round = sum(estimate_s(w, s, args) for w, todo in plan for s in todo)
        sweep_s = sweep_estimate_s(plan, args)
        left = args.budget_s - (time.time() - t_start) - 60
        log(f"one round ≈ {one_round / 60:.1f} min, the rate sweep ≈ {sweep_s / 60:.1f} min, "
            f"{left / 60:.1f} min of the budget left")
        # Every workload gets one round; more where the budget still has room for them and
        # for one round of everything after.
        for i, (w, todo) in enumerate(plan):
            later = sum(estimate_s(x, s, args) for x, t in plan[i + 1:] for s in t) + sweep_s
            this = sum(estimate_s(w, s, args) for s in todo)
            left = args.budget_s - (time.time() - t_start) - 60
            n = max([1] + [r for r in range(1, args.rounds + 1) if this * r + later <= left])
            results["rounds"][w["name"]] = n
            log(f"{w['name']}: {len(todo)} systems × {n} round(s)")
            rnd = 0
            while True:
                rnd += 1
                # Each round starts with the next system: none always runs first (on a warm
                # or a cold machine, right after a given peer).
                k = (rnd - 1) % max(len(todo), 1)
                for s in todo[k:] + todo[:k]:
                    r = run.run(w, s, f"r{rnd}")
                    results["cells"][w["name"]][s]["runs"].append(r)
                if rnd < n:
                    continue
                # Past the planned rounds: one more while ferry's range and the best peer's
                # overlap (which is ahead is not settled), if the budget still has room.
                cells = results["cells"][w["name"]]
                _, _, best, _, _ = report.ratio(w, cells, todo)
                left = args.budget_s - (time.time() - t_start) - 60
                if (rnd >= args.max_rounds or best is None or "ferry" not in todo
                        or not report.overlap(w, cells, best) or this + later > left):
                    break
            results["rounds"][w["name"]] = rnd
            for s in todo:
                c = results["cells"][w["name"]][s]
                c["status"] = "measured" if any(not r.get("error") for r in c["runs"]) \
                    else "failed"
                if c["status"] == "failed":
                    c["note"] = c["runs"][-1].get("error", "failed")
        sweep(run, results, plan, args, t_start)
    finally:
        if run is not None and run.current is not None:
            run.current.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        results["elapsed_s"] = round(time.time() - t_start, 1)
        results["compare_s"] = round(time.time() - t_measure, 1)
        results["from_make"] = bool(args.started_at)
        with open(os.path.join(raw_dir, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--workloads-dir", default=os.path.join(ROOT, "bench", "workloads"))
    ap.add_argument("--workloads", nargs="*", help="names (default: every workload file)")
    ap.add_argument("--systems", nargs="*", default=SYSTEMS)
    ap.add_argument("--full", action="store_true",
                    help="the long run (BENCH_FULL=1): 2 s warm-up, 10 s measured, 3 rounds, "
                         "backlogs at full size, a 4-hour budget (defaults of the options below "
                         "otherwise: 1 s, 5 s, 2 rounds, 30 min)")
    ap.add_argument("--warmup-s", type=float)
    ap.add_argument("--duration-s", type=float)
    ap.add_argument("--rounds", type=int, help="rounds per workload, if time allows")
    ap.add_argument("--max-rounds", type=int, default=4,
                    help="more rounds, up to this, while ferry's range and the best peer's "
                         "overlap (if time allows)")
    ap.add_argument("--budget-s", type=float,
                    help="the whole of `make bench-compare`, counted from --started-at")
    ap.add_argument("--started-at", type=float, default=0,
                    help="epoch seconds when `make bench-compare` began (default: now)")
    ap.add_argument("--raw-dir", default=os.path.join(ROOT, "build", "bench-compare"))
    ap.add_argument("--tmp-dir", default=None, help="where the servers' data dirs go")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    ap.add_argument("--plots-dir", default=os.path.join(ROOT, "docs", "bench"))
    ap.add_argument("--report-only", metavar="RESULTS_JSON",
                    help="rewrite the report from a previous run's results.json")
    args = ap.parse_args()
    for k, quick, full in (("warmup_s", 1, 2), ("duration_s", 5, 10), ("rounds", 2, 3),
                           ("budget_s", 1800, 4 * 3600)):
        if getattr(args, k) is None:
            setattr(args, k, full if args.full else quick)

    if args.report_only:
        with open(args.report_only) as f:
            results = json.load(f)
    else:
        t_start = args.started_at or time.time()
        # SIGTERM ends us like Ctrl-C: through the finally blocks that stop the servers.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # servers inherit it
        try:
            results = measure(args, t_start)
        except KeyboardInterrupt:
            log("interrupted: servers stopped, docs left as they were")
            return 130
        results["machine"] = machine.machine(args.tmp_dir or tempfile.gettempdir())
        results["versions"] = machine.versions(os.path.join(args.build_dir, "broker", "ferryd"))
        results["settings"] = servers.SETTINGS
        results["open_files"] = hard
        with open(os.path.join(os.path.abspath(args.raw_dir), "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    report.write(results, args.doc, args.plots_dir, ROOT)
    log(f"wrote {os.path.relpath(args.doc, ROOT)} and {os.path.relpath(args.plots_dir, ROOT)}/ "
        f"({results.get('elapsed_s', 0) / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
