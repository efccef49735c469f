"""The systems bench-compare measures: each started on loopback with a temp data dir and
free ports, with the settings documented in SETTINGS (docs/BENCHMARKS.md quotes them), and
stopped again. One server per run: state (queues, streams, memory high-water marks) never
leaks from one run into the next, and each run's peak RSS is its own.

Every server is a child of this process; stop() ends it (SIGTERM, then SIGKILL) and
removes its data dir. Nothing here touches system services.
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

RABBIT_BIN = "/usr/lib/rabbitmq/bin"

# What each system runs with, as it appears in docs/BENCHMARKS.md.
SETTINGS = {
    "ferry": "`ferryd --listen 127.0.0.1:0 --data-dir TMP` with the defaults of "
             "config/ferryd.yaml (connections-10k: `--set limits.max_connections=11000`); "
             "log topics are created by the driver with the workload's fsync policy",
    "rabbitmq": "RabbitMQ 3.10 (Erlang/OTP 25) from Debian, one node `fb<N>@localhost`, "
                "AMQP on 127.0.0.1:PORT, no plugins, defaults otherwise (guest/guest, "
                "vm_memory_high_watermark 0.4, disk_free_limit 50 MB; quorum queues fsync "
                "their WAL before confirming); its own epmd on a free port and its own host table for `localhost` (ERL_INETRC); "
                "fresh mnesia dir per run",
    "nats": "nats-server 2.9 `-a 127.0.0.1 -p -1 -js -sd TMP` (JetStream on, defaults: "
            "max_payload 1 MiB, max_connections 64K); the same server serves core NATS",
    "jetstream": "the nats-server above; streams R1; JetStream file store fsyncs every "
                 "2 min (`sync_interval`, fixed in 2.9), not per publish",
    "redis-pubsub": "redis-server 7.0 `--bind 127.0.0.1 --port PORT --dir TMP --save '' "
                    "--appendonly yes --appendfsync always --maxclients 15000` (PUBLISH never "
                    "reaches the AOF)",
    "redis-streams": "the same command line; the driver sets the AOF per workload for the "
                     "length of the run (CONFIG SET): memory workloads `appendonly no`, log "
                     "workloads `appendonly yes` with `appendfsync always` (fsync before the "
                     "reply; fsync-always), `everysec` (fsync-interval) or `no` (durability "
                     "none)",
}


def free_port():
    """A TCP port free on 127.0.0.1 right now, for servers that cannot pick their own. Below
    the ephemeral range (32768-), so that the load generator's own connections (10,000 in
    connections-10k) cannot take it between this check and the server's bind."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 20000-32000")


def wait_port(port, deadline):
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_redis(port, deadline):
    """Redis listens before it has loaded its data (and answers -LOADING meanwhile): ready
    once a PING gets +PONG."""
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                c.sendall(b"PING\r\n")
                if c.recv(64).startswith(b"+PONG"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def children(pid):
    """Direct child pids of `pid` (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(d))
        except OSError:
            pass
    return out


def end_process(proc, grace=10.0):
    """SIGTERM `proc` (a Popen), SIGKILL after `grace` seconds; reaps it."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


class server:
    """Base: one running system. start() returns (host, port, pid for CPU/RSS)."""

    name = "?"

    def __init__(self, workdir, log):
        self.workdir = workdir
        self.log = log
        self.proc = None
        self.dir = None
        self.port = None
        self.restarting = False
        self.log_from = 0  # where server.log's lines of the running process begin

    def _mkdir(self):
        self.dir = tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.workdir)
        return self.dir

    def restart(self, w):
        """A crash and a start again: SIGKILL to the server's process group, then start()
        on the same data dir and port, returning once the server serves again."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
            self.proc.wait(timeout=30)
        try:
            self.log_from = os.path.getsize(os.path.join(self.dir, "server.log"))
        except OSError:
            self.log_from = 0
        self.restarting = True
        try:
            return self.start(w)
        finally:
            self.restarting = False

    def _spawn(self, argv, env=None, stdout=None):
        out = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(argv, stdout=stdout or out, stderr=out,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        out.close()
        return self.proc

    def stop(self):
        end_process(self.proc)
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def log_tail(self, n=5):
        """The last `n` lines the running server process logged."""
        try:
            with open(os.path.join(self.dir, "server.log"), errors="replace") as f:
                f.seek(self.log_from)
                return " / ".join(f.read().strip().splitlines()[-n:])
        except (OSError, TypeError):
            return ""


class ferry_server(server):
    name = "ferry"

    def __init__(self, workdir, log, ferryd):
        super().__init__(workdir, log)
        self.ferryd = ferryd

    def start(self, w):
        d = self.dir if self.restarting else self._mkdir()
        argv = [self.ferryd, "--listen", f"127.0.0.1:{self.port if self.restarting else 0}",
                "--http", "127.0.0.1:0", "--data-dir", os.path.join(d, "data")]
        if w.get("idle_connections", 0) > 9000:
            argv += ["--set", f"limits.max_connections={w['idle_connections'] + 1000}"]
        p = self._spawn(argv, stdout=subprocess.PIPE)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = p.stdout.readline().decode(errors="replace")
            if not line:
                break
            m = re.search(r"listening on (\S+):(\d+)", line)
            if m:
                self.port = int(m.group(2))
                return m.group(1), self.port, p.pid
        raise RuntimeError("ferryd did not report its address: " + self.log_tail())


class nats_server(server):
    name = "nats"

    def start(self, w):
        d = self.dir if self.restarting else self._mkdir()
        self._spawn(["nats-server", "-a", "127.0.0.1", "-p",
                     str(self.port) if self.restarting else "-1", "-js",
                     "-sd", os.path.join(d, "js")])
        deadline = time.time() + 30
        while time.time() < deadline:
            m = re.search(r"Listening for client connections on [\d.]+:(\d+)", self.log_tail(50))
            if m:
                self.port = int(m.group(1))
                if wait_port(self.port, deadline):
                    return "127.0.0.1", self.port, self.proc.pid
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("nats-server did not start: " + self.log_tail())


class redis_server(server):
    """One redis-server; redis-streams' driver switches the AOF per workload itself."""

    name = "redis"

    def __init__(self, workdir, log, streams):
        super().__init__(workdir, log)
        self.streams = streams

    def start(self, w):
        d = self.dir if self.restarting else self._mkdir()
        port = self.port = self.port if self.restarting else free_port()
        # As bench/drivers/redis_driver.cpp expects: redis-streams sets the AOF per workload.
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", d,
                "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                "--maxclients", "15000", "--daemonize", "no",
                "--logfile", os.path.join(d, "server.log")]
        self._spawn(argv)
        if not wait_redis(port, time.time() + (600 if self.restarting else 30)):
            raise RuntimeError("redis-server did not start: " + self.log_tail())
        return "127.0.0.1", port, self.proc.pid


class rabbitmq_server(server):
    """A RabbitMQ node of our own: its own epmd, node name, ports, mnesia, logs, cookie."""

    name = "rabbitmq"
    counter = 0

    def __init__(self, workdir, log):
        super().__init__(workdir, log)
        self.epmd = None
        self.env = None
        self.node = None

    def _rabbitmqctl(self, *args, timeout=60):
        return subprocess.run([os.path.join(RABBIT_BIN, "rabbitmqctl"), "-n", self.node, *args],
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def start(self, w):
        if self.restarting:
            return self._start_node()
        d = self._mkdir()
        rabbitmq_server.counter += 1
        self.node = f"fb{os.getpid()}x{rabbitmq_server.counter}@localhost"
        port, dist, epmd_port = free_port(), free_port(), free_port()
        for sub in ("mnesia", "log", "home"):
            os.makedirs(os.path.join(d, sub))
        with open(os.path.join(d, "enabled_plugins"), "w") as f:
            f.write("[].\n")
        with open(os.path.join(d, "rabbitmq.conf"), "w") as f:
            f.write(f"listeners.tcp.1 = 127.0.0.1:{port}\n")
        # The node is fb...@localhost: Erlang must resolve "localhost" (and this machine's
        # name, which RabbitMQ looks up per connection) even where /etc/hosts lacks them
        # (minimal roots, some containers), or it fails or waits on DNS: it gets its own
        # host table, consulted first.
        with open(os.path.join(d, "inetrc"), "w") as f:
            f.write(f'{{host, {{127,0,0,1}}, ["localhost", "{socket.gethostname()}"]}}.\n'
                    '{lookup, [file, native]}.\n')
        env = dict(os.environ)
        env.update({
            "HOME": os.path.join(d, "home"),  # the Erlang cookie lives here
            "ERL_EPMD_PORT": str(epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(port),
            "RABBITMQ_DIST_PORT": str(dist),
            "RABBITMQ_MNESIA_BASE": os.path.join(d, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(d, "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(d, "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": os.path.join(d, "rabbitmq"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_INETRC": os.path.join(d, "inetrc"),  # every Erlang VM here: node, rabbitmqctl
        })
        self.env = env
        # Our own epmd in the foreground, so it ends with us (rabbitmq-server would start a
        # daemon one that outlives the node).
        log = open(os.path.join(d, "epmd.log"), "ab")
        self.epmd = subprocess.Popen(["epmd", "-port", str(epmd_port)], env=env, stdout=log,
                                     stderr=log, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        wait_port(epmd_port, time.time() + 10)
        self.port = port
        return self._start_node()

    def _start_node(self):
        """Starts the node of this server's dir and env; returns once it serves AMQP."""
        port = self.port
        self._spawn([os.path.join(RABBIT_BIN, "rabbitmq-server")], env=self.env)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None or "Kernel pid terminated" in self.log_tail(20):
                raise RuntimeError("rabbitmq-server exited: " + self.log_tail())
            if self._rabbitmqctl("await_startup", "--timeout", "30").returncode == 0:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("RabbitMQ did not start in 90 s: " + self.log_tail())
        if not wait_port(port, time.time() + 10):
            raise RuntimeError("RabbitMQ is not listening on its AMQP port")
        beam = self._beam_pid()
        return "127.0.0.1", port, beam or self.proc.pid

    def _beam_pid(self):
        todo, seen = [self.proc.pid], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == "beam.smp":
                        return pid
            except OSError:
                continue
            todo.extend(children(pid))
        return 0

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self._rabbitmqctl("stop", timeout=30)
                self.proc.wait(timeout=20)
            except (subprocess.TimeoutExpired, OSError):
                pass
            # The node's own children (erl_child_setup, inet_gethost) go with its group.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        end_process(self.epmd, grace=5)
        self.epmd = None
        super().stop()


def make_server(system, workdir, log, ferryd):
    """The server a system's runs need (nats and jetstream share nats-server)."""
    if system == "ferry":
        return ferry_server(workdir, log, ferryd)
    if system == "rabbitmq":
        return rabbitmq_server(workdir, log)
    if system in ("nats", "jetstream"):
        return nats_server(workdir, log)
    if system == "redis-pubsub":
        return redis_server(workdir, log, streams=False)
    if system == "redis-streams":
        return redis_server(workdir, log, streams=True)
    raise ValueError(system)
