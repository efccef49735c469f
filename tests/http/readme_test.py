#!/usr/bin/env python3
"""The README's HTTP section against a real ferryd (run by CTest):

  curl      every curl example of the section runs (curl -f: an HTTP error fails it)
  metrics   the metrics table lists exactly the families a scrape has, with their types

Usage: readme_test.py curl|metrics --ferryd PATH --readme PATH
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request


def start_ferryd(binary, data_dir):
    p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                          "--data-dir", data_dir, "--log-level", "warn"],
                         stdout=subprocess.PIPE, start_new_session=True)
    http = None
    deadline = time.time() + 20
    while time.time() < deadline and http is None:
        line = p.stdout.readline().decode()
        if not line:
            break
        m = re.match(r"http listening on (\S+)\n", line)
        if m:
            http = m.group(1)
    if http is None:
        p.kill()
        sys.exit("ferryd did not start")
    return p, http


def http_section(readme):
    text = open(readme).read()
    start = text.index("\n## HTTP\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def curl_examples(section):
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]


def check_curl(section, http):
    commands = curl_examples(section)
    if len(commands) < 5:
        return ["the section has fewer curl examples than expected: %d" % len(commands)]
    failures = []
    for c in commands:
        run = c.replace("localhost:7412", http)
        r = subprocess.run(["bash", "-o", "pipefail", "-c", run], capture_output=True, text=True,
                           timeout=30)
        print("$ " + c + "\n" + r.stdout.strip())
        if r.returncode != 0:
            failures.append("%s: exit %d: %s" % (c, r.returncode, r.stderr.strip()))
    return failures


def check_metrics(section, http):
    documented = {}
    for m in re.finditer(r"^\| `([a-z0-9_]+)` \| (counter|gauge|histogram) \|", section, re.M):
        documented[m.group(1)] = m.group(2)
    scrape = urllib.request.urlopen("http://%s/metrics" % http, timeout=10).read().decode()
    exposed = dict(re.findall(r"^# TYPE (\S+) (\S+)$", scrape, re.M))
    failures = []
    for name in sorted(set(documented) | set(exposed)):
        if name not in exposed:
            failures.append("README lists %s, the scrape has no such family" % name)
        elif name not in documented:
            failures.append("the scrape has %s, the README does not list it" % name)
        elif documented[name] != exposed[name]:
            failures.append("%s: README says %s, the scrape %s" %
                            (name, documented[name], exposed[name]))
    print("%d families documented, %d exposed" % (len(documented), len(exposed)))
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("check", choices=["curl", "metrics"])
    ap.add_argument("--ferryd", required=True)
    ap.add_argument("--readme", required=True)
    a = ap.parse_args()
    section = http_section(a.readme)
    with tempfile.TemporaryDirectory(prefix="ferry-readme-") as d:
        p, http = start_ferryd(a.ferryd, d)
        try:
            failures = (check_curl if a.check == "curl" else check_metrics)(section, http)
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=10)
    for f in failures:
        print("FAILED: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
