#!/usr/bin/env python3
"""What a /metrics scrape costs on a broker with many topics (docs/BENCHMARKS.md).

Starts ferryd, creates --topics memory topics with a subscription each over the REST API,
then times --scrapes scrapes, and runs a ferry-bench latency workload against the same
broker without scrapes, with one scrape a second (as Prometheus does) and with scrapes back
to back, so that what a scrape does to deliveries shows as a change in their latency.

Usage: scrape_bench.py --ferryd build/broker/ferryd --bench build/bench/ferry-bench
"""
import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time


def start(ferryd, data):
    p = subprocess.Popen([ferryd, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                          "--data-dir", data, "--log-level", "warn",
                          "--set", "metrics.max_topics=100000"],
                         stdout=subprocess.PIPE, start_new_session=True)
    wire = http_addr = None
    while http_addr is None:
        line = p.stdout.readline().decode()
        m = re.match(r"(http )?listening on (\S+):(\d+)", line)
        if not m:
            raise SystemExit("ferryd did not start")
        if m.group(1):
            http_addr = (m.group(2), int(m.group(3)))
        else:
            wire = "%s:%s" % (m.group(2), m.group(3))
    return p, wire, http_addr


def create(addr, topics):
    c = http.client.HTTPConnection(*addr, timeout=30)
    for i in range(topics):
        for path, body in (("/v1/topics", {"name": "t%05d" % i}),
                           ("/v1/subscriptions", {"name": "s%05d" % i, "pattern": "t%05d" % i})):
            c.request("POST", path, json.dumps(body))
            r = c.getresponse()
            r.read()
            if r.status != 201:
                raise SystemExit("%s: %d" % (path, r.status))


def scrape(c):
    t = time.perf_counter()
    c.request("GET", "/metrics")
    body = c.getresponse().read()
    return time.perf_counter() - t, len(body)


def latency(bench, wire, pid, workload, seconds):
    out = subprocess.run([bench, "--broker", wire, "--broker-pid", str(pid), "-w", workload,
                          "--warmup-s", "1", "--duration-s", str(seconds)],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferryd", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--topics", type=int, default=10000)
    ap.add_argument("--scrapes", type=int, default=20)
    ap.add_argument("--workload", default="mem-latency-5k")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--data-dir", help="keep the topics here and reuse them next time")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ferry-scrape-") as tmp:
        d = a.data_dir or tmp
        reuse = bool(os.listdir(d))
        p, wire, addr = start(a.ferryd, d)
        try:
            t = time.perf_counter()
            if not reuse:
                create(addr, a.topics)
            print("created %d topics and %d subscriptions in %.1f s" %
                  (a.topics, a.topics, time.perf_counter() - t))
            c = http.client.HTTPConnection(*addr, timeout=30)
            times = [scrape(c) for _ in range(a.scrapes)]
            ms = sorted(x[0] * 1000 for x in times)
            print("scrape: %d bytes; min %.1f ms, median %.1f ms, max %.1f ms" %
                  (times[0][1], ms[0], statistics.median(ms), ms[-1]))
            for label, pause in (("no scrapes", None), ("a scrape a second", 1.0),
                                 ("scrapes back to back", 0.0)):
                stop = threading.Event()

                def scraper(pause=pause):
                    sc = http.client.HTTPConnection(*addr, timeout=30)
                    while not stop.is_set():
                        scrape(sc)
                        stop.wait(pause)

                th = threading.Thread(target=scraper) if pause is not None else None
                if th:
                    th.start()
                row = latency(a.bench, wire, p.pid, a.workload, a.seconds)
                stop.set()
                if th:
                    th.join()
                print("%s (%s): %s" % (a.workload, label, row))
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=20)


if __name__ == "__main__":
    main()
