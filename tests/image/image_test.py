#!/usr/bin/env python3
"""The container smoke test (`make test-image`): the images `make image` built, run for real
with podman on this machine's loopback (the host network, never a bridge).

1. ferryd's image: its size, its user, its health check; ferryd in a container with a
   volume, the host's `ferry` CLI publishing and consuming through it, SIGTERM (exit 0,
   drained), a restart that recovers everything confirmed.
2. Compose: deploy/compose.yaml with podman-compose; the audit service's file holds every
   event of the login service once.
3. Kubernetes: the rendered example manifests run with `podman kube play` (converted where
   podman 4.3 lacks a kind, see to_podman()); the CLI through it; `--down`, a second play,
   the data still there.

Every container, pod and volume is named after this process and removed at the end.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TAG = f"ferry-smoke-{os.getpid()}"
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAILED: ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def sh(*cmd, check_rc=True, env=None, input=None, timeout=300):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, input=input, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def wait_ready(port, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if http_status(port, "/readyz") == 200:
            return True
        time.sleep(0.2)
    return False


class Cli:
    def __init__(self, path, port):
        self.base = [path, "--broker", f"127.0.0.1:{port}"]

    def __call__(self, *args, input=None):
        return sh(*self.base, *args, input=input, timeout=60)


def publish_and_read(cli, topic, n):
    """Creates a log topic, publishes n confirmed records, reads them back."""
    cli("topic", "create", topic, "--kind", "log", "--partitions", "2")
    lines = [f"{topic}-{i}" for i in range(n)]
    cli("pub", topic, input="\n".join(lines) + "\n")
    return read_all(cli, topic, n), set(lines)


def read_all(cli, topic, n):
    out = cli("consume", topic, "--from", "earliest", "--count", str(n), "--timeout-ms", "10000")
    return set(out.stdout.split())


def container_part(podman, image, cli_path):
    info = json.loads(sh(*podman, "image", "inspect", image).stdout)[0]
    size_mb = info["Size"] / 1e6
    check(size_mb < 120, f"the image is {size_mb:.1f} MB (goal: under 120 MB)")
    config = info["Config"]
    check(config.get("User") == "10001:10001", f"the image's user is 10001 ({config.get('User')})")
    health = info.get("Healthcheck") or {}
    check("ferry" in " ".join(health.get("Test", [])), f"the image has a HEALTHCHECK ({health.get('Test')})")

    port, http = free_port(), free_port()
    name, volume = TAG, TAG
    sh(*podman, "volume", "create", volume)
    run = [*podman, "run", "-d", "--name", name, "--network", "host", *ULIMITS,
           "-v", f"{volume}:/var/lib/ferry",
           "-e", f"FERRY_NET_LISTEN=127.0.0.1:{port}", "-e", f"FERRY_HTTP_LISTEN=127.0.0.1:{http}",
           image]
    try:
        sh(*run)
        check(wait_ready(http), "ferryd in the container becomes ready")
        check(sh(*podman, "healthcheck", "run", name, check_rc=False).returncode == 0,
              "the image's health check (`ferry health`) passes")
        pid = sh(*podman, "inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
        with open(f"/proc/{pid}/status") as f:
            uid = next(l.split()[1] for l in f if l.startswith("Uid:"))
        check(uid == "10001", f"ferryd runs as uid {uid}, not root")

        cli = Cli(cli_path, port)
        got, sent = publish_and_read(cli, "smoke", 2000)
        check(got == sent, f"the host CLI published and read back {len(got)} of 2000 records")

        t0 = time.monotonic()
        sh(*podman, "stop", "-t", "10", name)
        took = time.monotonic() - t0
        code = sh(*podman, "inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        check(code == "0", f"SIGTERM: ferryd exits {code} after {took:.2f} s")
        logs = sh(*podman, "logs", name).stdout + sh(*podman, "logs", name).stderr
        check("drained in" in logs, "ferryd logged its drain")

        sh(*podman, "start", name)
        check(wait_ready(http), "ferryd restarts on its volume")
        check(read_all(cli, "smoke", 2000) == sent, "after the restart every record is there")
        logs = sh(*podman, "logs", name).stdout + sh(*podman, "logs", name).stderr
        check("recovered" in logs, "the restart recovered the log topic")
    finally:
        sh(*podman, "rm", "-f", "-t", "0", name, check_rc=False)
        sh(*podman, "volume", "rm", "-f", volume, check_rc=False)


def audited(path):
    ids = {}
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            ids[(e["source"], e["id"])] = ids.get((e["source"], e["id"]), 0) + 1
    return ids


def volume_path(podman, volume):
    return sh(*podman, "volume", "inspect", "--format", "{{.Mountpoint}}", volume).stdout.strip()


def wait_audited(podman, volume, n, seconds=60):
    deadline = time.monotonic() + seconds
    ids = {}
    while time.monotonic() < deadline:
        path = os.path.join(volume_path(podman, volume), "audit.jsonl")
        if os.path.exists(path):
            ids = audited(path)
            if len(ids) >= n:
                break
        time.sleep(0.3)
    return ids


def compose_part(podman):
    port, http = free_port(), free_port()
    env = dict(os.environ, FERRY_PORT=str(port), FERRY_HTTP_PORT=str(http), LOGIN_COUNT="50",
               LOGIN_INTERVAL_MS="0")
    # Debian 12's podman-compose needs the shim for network_mode: host (deploy/compose.yaml).
    compose = ["podman-compose", "--podman-path", os.path.join(SOURCE, "tests/image/podman-host-net"),
               "-p", TAG, "-f", os.path.join(SOURCE, "deploy/compose.yaml")]
    try:
        sh(*compose, "up", "-d", env=env)
        check(wait_ready(http), "compose: ferryd is ready")
        ids = wait_audited(podman, f"{TAG}_audit-data", 50)
        check(len(ids) == 50 and all(n == 1 for n in ids.values()),
              f"compose: the audit service wrote each of the 50 login events once ({len(ids)})")
    finally:
        sh(*compose, "down", "-v", env=env, check_rc=False)
        sh(*podman, "volume", "rm", "-f", f"{TAG}_audit-data", f"{TAG}_ferry-data", check_rc=False)


def to_podman(docs, port, http, login_count):
    """The rendered manifests as podman 4.3's `kube play` takes them: a StatefulSet becomes
    a Deployment with its volume claim template as a PersistentVolumeClaim (podman has no
    StatefulSet); Services and the PodDisruptionBudget are dropped (nothing here routes or
    evicts); pods use the host network with loopback addresses (no bridge here; so the
    containers' port lists go too, podman would map them), and the example services reach
    ferryd there instead of through the Service's DNS name."""
    out = []
    for d in docs:
        kind = d["kind"]
        if kind in ("Service", "PodDisruptionBudget"):
            continue
        if kind == "StatefulSet":
            spec = d["spec"]
            for t in spec.pop("volumeClaimTemplates", []):
                claim = f"{TAG}-{t['metadata']['name']}"
                out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                            "metadata": {"name": claim}, "spec": t["spec"]})
                spec["template"]["spec"]["volumes"].append(
                    {"name": t["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}})
            spec.pop("serviceName", None)
            d["kind"] = "Deployment"
        if kind == "PersistentVolumeClaim":
            d["metadata"]["name"] = f"{TAG}-{d['metadata']['name']}"
        if d["kind"] == "Deployment":
            d["metadata"]["name"] = f"{TAG}-{d['metadata']['name']}"
            pod = d["spec"]["template"]["spec"]
            pod["hostNetwork"] = True
            for v in pod.get("volumes", []):
                if "persistentVolumeClaim" in v and not v["persistentVolumeClaim"]["claimName"].startswith(TAG):
                    v["persistentVolumeClaim"]["claimName"] = f"{TAG}-{v['persistentVolumeClaim']['claimName']}"
            for c in pod["containers"]:
                c.pop("ports", None)  # podman maps them, which the host network cannot take
                env = c.setdefault("env", [])
                if c["name"] == "ferryd":
                    env += [{"name": "FERRY_NET_LISTEN", "value": f"127.0.0.1:{port}"},
                            {"name": "FERRY_HTTP_LISTEN", "value": f"127.0.0.1:{http}"}]
                else:
                    env[:] = [e for e in env if e["name"] != "FERRY_BROKER"]
                    env.append({"name": "FERRY_BROKER", "value": f"127.0.0.1:{port}"})
                    if c["name"] == "login":
                        env[:] = [e for e in env if e["name"] != "LOGIN_INTERVAL_MS"]
                        env += [{"name": "LOGIN_COUNT", "value": str(login_count)},
                                {"name": "LOGIN_INTERVAL_MS", "value": "0"}]
        out.append(d)
    return out


def kube_part(podman, cli_path, kubectl):
    port, http = free_port(), free_port()
    rendered = sh(kubectl, "kustomize", os.path.join(SOURCE, "deploy/kubernetes/example")).stdout
    docs = to_podman(list(yaml.safe_load_all(rendered)), port, http, login_count=40)
    work = tempfile.mkdtemp(prefix="ferry-kube-")
    manifest = os.path.join(work, "ferry.yaml")
    with open(manifest, "w") as f:
        yaml.safe_dump_all(docs, f)
    # Played again, the claims are bound already: podman 4.3 refuses to make their volumes
    # twice, so the second play leaves them out and mounts the volumes that exist.
    again_manifest = os.path.join(work, "ferry-again.yaml")
    with open(again_manifest, "w") as f:
        yaml.safe_dump_all([d for d in docs if d["kind"] != "PersistentVolumeClaim"], f)
    had_kube_network = sh(*podman, "network", "exists", "podman-default-kube-network",
                          check_rc=False).returncode == 0
    conf = os.path.join(work, "containers.conf")
    with open(conf, "w") as f:  # the ulimits this machine's runtime accepts, for every pod
        f.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n')
    env = dict(os.environ, CONTAINERS_CONF=conf)
    play = [*podman, "kube", "play"]
    cli = Cli(cli_path, port)
    volumes = [d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"]
    config_volumes = [d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"]
    audit_volume = next(v for v in volumes if v.endswith("audit-data"))
    try:
        sh(*play, manifest, env=env)
        check(wait_ready(http), "kube play: ferryd from the image is ready")
        got, sent = publish_and_read(cli, "kube", 500)
        check(got == sent, f"kube play: the CLI published and read back {len(got)} of 500 records")
        # The login pod publishes 40 events and exits; its restart policy (Always, as in a
        # Deployment) runs it again: 40 more each time. What matters is that each is audited once.
        first = wait_audited(podman, audit_volume, 40)
        check(len(first) >= 40 and all(n == 1 for n in first.values()),
              f"kube play: the audit pod wrote each login event once ({len(first)} events)")

        sh(*play, "--down", manifest, env=env)
        check(http_status(http, "/livez") == 0, "kube play --down: ferryd is gone")
        sh(*play, again_manifest, env=env)
        check(wait_ready(http), "kube play again: ferryd is ready")
        check(read_all(cli, "kube", 500) == sent, "kube play again: the records survived")
        # The login pod ran again (40 new events); nothing of the first play is lost or doubled.
        again = wait_audited(podman, audit_volume, len(first) + 40)
        check(len(again) >= len(first) + 40 and all(n == 1 for n in again.values())
              and set(first) <= set(again),
              f"kube play again: {len(again)} events audited once each, the first play's among them")
    finally:
        sh(*play, "--down", manifest, env=env, check_rc=False)
        sh(*podman, "volume", "rm", "-f", *volumes, *config_volumes, check_rc=False)
        if not had_kube_network:  # kube play makes it even for host-network pods; unused
            sh(*podman, "network", "rm", "podman-default-kube-network", check_rc=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--image", default="localhost/ferryd:latest")
    ap.add_argument("--podman", default="podman")
    ap.add_argument("--kubectl", default="kubectl")
    ap.add_argument("--only", choices=["container", "compose", "kube"])
    a = ap.parse_args()
    podman = a.podman.split()
    cli_path = os.path.join(a.build_dir, "client", "ferry")
    started = time.monotonic()
    if a.only in (None, "container"):
        container_part(podman, a.image, cli_path)
    if a.only in (None, "compose"):
        compose_part(podman)
    if a.only in (None, "kube"):
        kube_part(podman, cli_path, a.kubectl)
    print(f"image test: {len(failures)} failures in {time.monotonic() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
