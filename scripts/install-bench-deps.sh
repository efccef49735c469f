#!/usr/bin/env bash
# Installs the peers `make bench-compare` measures ferry against, and their C client
# libraries (bench/drivers/*: rabbitmq-c, cnats, hiredis), plus python3 for
# bench/compare/compare.py and wrk for make bench-http. Installs only what is missing,
# like scripts/install-deps.sh.
#
# The servers are never left running as system services: Debian starts rabbitmq-server and
# redis-server on install, so the install runs under a policy-rc.d that denies service
# starts, and afterwards their services are stopped and disabled. compare.py starts each
# server itself, on loopback, with a temp data dir and free ports.
#
# Nothing here may pull Debian's libboost-dev (1.74): ferry builds against Boost 1.81 and
# the two conflict. The install is simulated first and refused if it would.
set -euo pipefail

packages=(
  rabbitmq-server nats-server redis-server
  librabbitmq-dev libnats-dev libhiredis-dev
  python3
  wrk  # the HTTP load generator of make bench-http
)
services=(rabbitmq-server redis-server nats-server)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || {
    [ ${#missing[@]} -eq 0 ] && exit 0
    echo "install-bench-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  }
  sudo=(sudo)
fi

# Stops and disables a system service of the peers if one is set up (systemd or sysvinit).
stop_service() {
  local s=$1
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl disable --now "$s" >/dev/null 2>&1 || true
  elif [ -x "/etc/init.d/$s" ]; then
    "${sudo[@]}" /etc/init.d/"$s" stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null && "${sudo[@]}" update-rc.d "$s" disable >/dev/null 2>&1 || true
  fi
}

if [ ${#missing[@]} -ne 0 ]; then
  echo "install-bench-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  plan=$("${sudo[@]}" apt-get install -s -y --no-install-recommends "${missing[@]}")
  if grep -Eq '^Inst libboost(-dev|1\.74-dev|-[a-z-]+1\.74-dev)( |$)' <<<"$plan"; then
    echo "install-bench-deps: refusing: installing ${missing[*]} would pull libboost 1.74 headers" >&2
    grep -E '^Inst libboost' <<<"$plan" >&2
    exit 1
  fi

  # Deny service starts during the install (exit 101 = "action forbidden"); restore
  # whatever policy-rc.d was there before, on every exit path.
  policy=/usr/sbin/policy-rc.d
  saved=""
  if [ -e "$policy" ]; then
    saved=$(mktemp)
    "${sudo[@]}" cp -p "$policy" "$saved"
  fi
  restore_policy() {
    if [ -n "$saved" ]; then
      "${sudo[@]}" cp -p "$saved" "$policy"
      rm -f "$saved"
    else
      "${sudo[@]}" rm -f "$policy"
    fi
  }
  trap restore_policy EXIT
  printf '#!/bin/sh\n# install-bench-deps: no service starts while installing\nexit 101\n' |
    "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"

  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  restore_policy
  trap - EXIT
fi

# Whether installed now or before: no peer stays running (or enabled) as a system service.
for s in "${services[@]}"; do
  stop_service "$s"
done
# RabbitMQ's Erlang port mapper may have been started by its service (systemd socket unit).
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  "${sudo[@]}" systemctl disable --now epmd.socket epmd.service >/dev/null 2>&1 || true
fi
