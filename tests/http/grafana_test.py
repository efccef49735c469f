#!/usr/bin/env python3
"""deploy/grafana/ferry.json against a real ferryd (run by CTest): every metric its queries
use is a family a scrape of ferryd exposes (a histogram's _bucket/_sum/_count of a
histogram family), every query is valid PromQL (promtool check rules, with Grafana's
variables filled in), and the panels fit Grafana's 24-column grid with unique ids.

Usage: grafana_test.py --ferryd PATH --dashboard PATH
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from readme_test import start_ferryd  # noqa: E402

HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def queries(dash):
    for p in dash["panels"]:
        for t in p.get("targets", []):
            yield p["title"], t["expr"]
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            yield "variable " + v["name"], v["query"]


def metric_names(expr):
    return set(re.findall(r"\b((?:ferry|process)_[a-z0-9_]+)\b", expr))


def check_names(dash, exposed):
    failures = []
    for where, expr in queries(dash):
        for name in sorted(metric_names(expr)):
            base = next((name[: -len(s)] for s in HISTOGRAM_PARTS if name.endswith(s)
                         and exposed.get(name[: -len(s)]) == "histogram"), None)
            if base is None and name not in exposed:
                failures.append("%s: %s is not exposed by ferryd" % (where, name))
    return failures


def check_promql(dash, tmp):
    rules = {"groups": [{"name": "grafana", "rules": []}]}
    for i, (where, expr) in enumerate(queries(dash)):
        if expr.startswith("label_values("):  # a Grafana function, not PromQL: its selector is
            expr = re.match(r"label_values\((.*), *\w+\)$", expr).group(1)
        filled = (expr.replace("$__rate_interval", "1m").replace('"$job"', '".*"')
                  .replace('"$topic"', '".*"'))
        rules["groups"][0]["rules"].append({"record": "ferry:query_%d" % i, "expr": filled})
    path = os.path.join(tmp, "rules.json")  # JSON is YAML
    json.dump(rules, open(path, "w"))
    r = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    return [] if r.returncode == 0 else ["promtool check rules: " + r.stdout + r.stderr]


def check_layout(dash):
    failures = []
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        failures.append("panel ids are not unique")
    for p in dash["panels"]:
        g = p["gridPos"]
        if g["x"] < 0 or g["w"] <= 0 or g["x"] + g["w"] > 24 or g["h"] <= 0:
            failures.append("%s: gridPos %s does not fit 24 columns" % (p["title"], g))
        if p["type"] != "row" and not p.get("targets"):
            failures.append("%s: no queries" % p["title"])
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferryd", required=True)
    ap.add_argument("--dashboard", required=True)
    a = ap.parse_args()
    dash = json.load(open(a.dashboard))
    with tempfile.TemporaryDirectory(prefix="ferry-grafana-") as d:
        p, http = start_ferryd(a.ferryd, os.path.join(d, "data"))
        try:
            scrape = urllib.request.urlopen("http://%s/metrics" % http, timeout=10).read().decode()
        finally:
            p.terminate()
            p.wait(timeout=10)
        exposed = dict(re.findall(r"^# TYPE (\S+) (\S+)$", scrape, re.M))
        failures = check_names(dash, exposed) + check_promql(dash, d) + check_layout(dash)
    used = set().union(*(metric_names(e) for _, e in queries(dash)))
    print("%d queries over %d metric names, %d families exposed" %
          (sum(1 for _ in queries(dash)), len(used), len(exposed)))
    for f in failures:
        print("FAILED: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
