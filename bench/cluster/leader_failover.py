"""Leader failover pause: how long after a partition leader is killed (SIGKILL) a survivor
names a new leader (docs/CLUSTER.md, section 5).

Starts a one-member etcd and three ferryd on loopback ports with temp data dirs (the
default cluster.lease_ttl_s, 2 s); each round creates a fresh single-partition log topic
(replication factor 3, so the whole ISR is alive), kills its leader, polls `ferry cluster
status` on a survivor every 20 ms until another node leads, and restarts the killed node.
Prints each round and the median/min/max. Everything it starts is killed at the end.

Usage: python3 bench/cluster/leader_failover.py [BUILD_DIR] [ROUNDS]
"""
import re, shutil, signal, socket, subprocess, sys, tempfile, time
B = sys.argv[1] if len(sys.argv) > 1 else "build"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
root = tempfile.mkdtemp(prefix="fo-")
cp, pp = port(), port()
etcd = subprocess.Popen(["etcd", "--data-dir", root + "/etcd", "--listen-client-urls", f"http://127.0.0.1:{cp}",
    "--advertise-client-urls", f"http://127.0.0.1:{cp}", "--listen-peer-urls", f"http://127.0.0.1:{pp}",
    "--initial-advertise-peer-urls", f"http://127.0.0.1:{pp}", "--initial-cluster", f"default=http://127.0.0.1:{pp}"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(2)
ports = {i: (port(), port()) for i in (1, 2, 3)}
procs = {}
def start(i):
    p, h = ports[i]
    procs[i] = subprocess.Popen([B + "/broker/ferryd", "--listen", f"127.0.0.1:{p}", "--http", f"127.0.0.1:{h}",
        "--data-dir", f"{root}/n{i}", "--set", f"cluster.etcd=http://127.0.0.1:{cp}", "--set", f"cluster.node_id={i}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def cli(i, *args):
    return subprocess.run([B + "/client/ferry", "--broker", f"127.0.0.1:{ports[i][0]}", *args],
                          capture_output=True, text=True, timeout=5).stdout
def leader(i, topic):
    try: out = cli(i, "cluster", "status")
    except Exception: return None
    m = re.search(rf"partition {topic}/0\tleader (\d+)", out)
    return int(m.group(1)) if m else None
def nodes(i):
    try: out = cli(i, "cluster", "status")
    except Exception: return 0
    m = re.search(r"nodes: (\d+)", out); return int(m.group(1)) if m else 0
try:
    for i in (1, 2, 3): start(i); time.sleep(0.5)
    while any(nodes(i) != 3 for i in (1, 2, 3)): time.sleep(0.2)
    times = []
    for r in range(ROUNDS):
        t = f"t{r}"
        cli(1 if 1 in procs else 2, "topic", "create", t, "--kind", "log", "--partitions", "1")
        while leader(1, t) is None or leader(2, t) is None or leader(3, t) is None: time.sleep(0.05)
        dead = leader(1, t); survivor = 1 if dead != 1 else 2
        procs[dead].send_signal(signal.SIGKILL); procs[dead].wait(); t0 = time.monotonic()
        while True:
            l = leader(survivor, t)
            if l not in (None, 0, dead): break
            time.sleep(0.02)
        ms = (time.monotonic() - t0) * 1000; times.append(ms)
        print(f"round {r}: leader {dead} killed, node {l} leads after {ms:.0f} ms", flush=True)
        start(dead)
        while any(nodes(i) != 3 for i in (1, 2, 3)): time.sleep(0.2)
    times.sort()
    print("median %.0f ms, min %.0f, max %.0f" % (times[len(times)//2], times[0], times[-1]))
finally:
    for p in procs.values(): p.kill()
    etcd.kill()
    for p in list(procs.values()) + [etcd]: p.wait()
    shutil.rmtree(root, ignore_errors=True)
