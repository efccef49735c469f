#!/usr/bin/env python3
"""Publishing over HTTP against the binary protocol, in one run (make bench-http).

Starts a ferryd (loopback, temp data dir), makes a memory topic with no subscription (the
publish path alone: read, route, confirm), and drives it with wrk, a real load generator,
one message per request over keep-alive connections: a CloudEvent in binary mode, one in
structured mode, a plain body; then batches of 100 events per request. Then ferry-bench drives the binary protocol the same way
(one message per publish, as many in flight as wrk has connections) and the usual way
(batches of 500). Last, ferry-push-bench: a push subscription POSTing to a local handler
that answers 200 at once, at the maximum rate and at 5,000 msg/s (for the latency). And
ferry-ws-bench: a memory subscription's backlog of 1,000,000 messages drained by one
WebSocket client (protobuf and CloudEvents JSON), and by libferry over the binary protocol,
with auto-ack and with acks. Prints Markdown tables for docs/BENCHMARKS.md.

Usage: http_bench.py --ferryd PATH --ferry-bench PATH --push-bench PATH --ws-bench PATH
                     [--connections 64] [--seconds 10]
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def start_ferryd(binary, data_dir):
    p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                          "--data-dir", data_dir, "--log-level", "warn"],
                         stdout=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 20
    wire = None
    while time.time() < deadline:
        line = p.stdout.readline().decode()
        m = re.match(r"(http )?listening on (\S+)\n", line)
        if m and not m.group(1):
            wire = m.group(2)
        elif m:
            return p, wire, m.group(2)
        if not line:
            break
    p.kill()
    sys.exit("ferryd did not start")


def wrk(url, script, connections, seconds):
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", os.path.join(HERE, script), url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        lat[pct] = float(m.group(1)) * scale
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"wrk {script}: {errors.group(1)} requests were not answered 2xx:\n{out}")
    return rate, lat


def ferry_bench(binary, ferryd, connections, seconds, batch):
    cmd = [binary, "--ferryd", ferryd, "-w", "mem-throughput-100B", "--message-bytes", "1024",
           "--readers", "0", "--warmup-s", "2", "--duration-s", str(seconds),
           "--batch", str(batch), "--window", str(connections * batch)]
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        subprocess.run(cmd + ["--json-out", out.name], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        row = json.loads(out.read().splitlines()[-1])
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferryd", required=True)
    ap.add_argument("--ferry-bench", required=True)
    ap.add_argument("--push-bench", required=True)
    ap.add_argument("--ws-bench", required=True)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (scripts/install-bench-deps.sh installs it)")

    data_dir = tempfile.mkdtemp(prefix="ferry-http-bench-")
    p, wire, http = start_ferryd(a.ferryd, data_dir)
    rows = []
    try:
        req = urllib.request.Request(f"http://{http}/v1/topics", method="POST",
                                     data=b'{"name": "bench.http", "kind": "memory"}')
        urllib.request.urlopen(req).read()
        url = f"http://{http}/v1/topics/bench.http/messages"
        for mode, script, per_request in (("CloudEvent, binary mode", "binary.lua", 1),
                                          ("CloudEvent, structured mode", "structured.lua", 1),
                                          ("plain body", "plain.lua", 1),
                                          ("CloudEvents, batched mode, 100 per request",
                                           "batch.lua", 100)):
            wrk(url, script, a.connections, 2)  # warm-up
            rate, lat = wrk(url, script, a.connections, a.seconds)
            rows.append((f"HTTP: {mode}", rate * per_request, lat["50"], lat["99"]))
        push_rows = [subprocess.run([a.push_bench, "--broker", wire] + extra, check=True,
                                    capture_output=True, text=True).stdout.strip()
                     for extra in (["--count", "300000"], ["--count", "50000", "--rate", "5000"])]
        ws_rows = []
        for size in ("100", "1024"):
            for ack in ([], ["--ack"]):
                base = None
                for via in ("binary", "protobuf", "json"):
                    out = subprocess.run([a.ws_bench, "--broker", wire, "--http", http, "--via", via,
                                          "--bytes", size, "--count", "1000000"] + ack,
                                         check=True, capture_output=True, text=True).stdout.strip()
                    rate = float(out.split("|")[2])
                    base = base or rate
                    ws_rows.append(f"{out} {rate / base:.2f} |")
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    for label, batch in (("binary protocol, 1 message per Publish", 1),
                         ("binary protocol, 500 per Publish", 500)):
        row = ferry_bench(a.ferry_bench, a.ferryd, a.connections, a.seconds, batch)
        lat = row["ack_latency_ns"]
        rows.append((label, row["acked_per_s"], lat["p50"] / 1e6, lat["p99"] / 1e6))

    base = rows[-2][1]
    print(f"| 1 KiB, {a.connections} in flight, memory topic | msg/s | p50 ms | p99 ms "
          "| vs binary protocol (1 per Publish) |")
    print("|---|---|---|---|---|")
    for label, rate, p50, p99 in rows:
        print(f"| {label} | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {rate / base:.2f} |")
    print()
    print("| push subscription, to a handler answering 200 at once | delivered msg/s "
          "| publish-to-handler p50 ms | p99 ms | delivered |")
    print("|---|---|---|---|---|")
    for row in push_rows:
        print(row)
    print()
    print("| a 1,000,000-message backlog drained by one client | delivered msg/s | MB/s "
          "| vs binary protocol |")
    print("|---|---|---|---|")
    for row in ws_rows:
        print(row)


if __name__ == "__main__":
    main()
