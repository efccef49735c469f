"""What the figures were measured on: the machine and the versions of every system."""

import os
import platform
import re
import subprocess


def _run(argv, timeout=30, env=None):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, env=env, stdin=subprocess.DEVNULL)
        return p.stdout.decode(errors="replace").strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _first(pattern, text, default="?"):
    m = re.search(pattern, text, re.M)
    return m.group(1).strip() if m else default


def _file_field(path, pattern, default="?"):
    """The first match of `pattern` in file `path`, or `default`."""
    try:
        with open(path) as f:
            return _first(pattern, f.read(), default)
    except OSError:
        return default


def machine(data_dir):
    cpu = _file_field("/proc/cpuinfo", r"^model name\s*:\s*(.*)$")
    kib = _file_field("/proc/meminfo", r"^MemTotal:\s*(\d+)", "0")
    mem = f"{int(kib) / 1048576:.1f} GiB" if kib.isdigit() and kib != "0" else "?"
    os_name = _file_field("/etc/os-release", r'^PRETTY_NAME="?([^"\n]*)')
    fs = _run(["df", "--output=fstype,source", data_dir]).splitlines()
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "os": os_name,
        "disk": " ".join(fs[-1].split()) if len(fs) > 1 else "?",
        "compiler": _first(r"^(g\+\+.*)$", _run(["g++", "--version"])),
    }


def _dpkg(pkg):
    return _run(["dpkg-query", "-W", "-f=${Version}", pkg]) or "not installed"


def versions(ferryd):
    # RabbitMQ's from dpkg: `rabbitmqctl version` would boot an Erlang VM, which starts a
    # system epmd on port 4369 (all interfaces) that outlives it.
    return {
        "ferryd": _run([ferryd, "--version"]) or "not built",
        "RabbitMQ": _dpkg("rabbitmq-server"),
        "Erlang/OTP": _dpkg("erlang-base"),
        "nats-server": _run(["nats-server", "--version"]) or "not installed",
        "redis-server": _first(r"(v=\S+)", _run(["redis-server", "--version"]), "not installed"),
        "rabbitmq-c (librabbitmq4)": _dpkg("librabbitmq4"),
        "cnats (libnats3.4)": _dpkg("libnats3.4"),
        "hiredis (libhiredis0.14)": _dpkg("libhiredis0.14"),
    }
