#!/usr/bin/env bash
# Installs every Debian 12 package ferry needs to build, test and run.
# The one install list: `make run`, `make test` and `make deps` all call this script.
# It installs only what is missing, so a second run costs a dpkg query and nothing more.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librocksdb-dev
  libprotobuf-dev protobuf-compiler
  libspdlog-dev libfmt-dev
  catch2 librapidcheck-dev
  libyaml-cpp-dev libcli11-dev prometheus-cpp-dev
  libssl-dev zlib1g-dev
  clang-format procps python3
  # test tools: promtool (checks /metrics scrapes), curl (the README's examples)
  prometheus curl
)

# Test tools found by command: a machine may have them from elsewhere (Node.js from
# NodeSource bundles npm, and Debian's npm package would conflict with it).
tools=(node:nodejs npm:npm chromium:chromium)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
for t in "${tools[@]}"; do
  command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
