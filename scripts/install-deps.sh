#!/usr/bin/env bash
# Installs every Debian 12 package ferry needs to build, test and run.
# The one install list: `make run`, `make test` and `make deps` all call this script.
# It installs only what is missing, so a second run costs a dpkg query and nothing more.
#   install-deps.sh          build, test and run ferry
#   install-deps.sh build    only what building ferryd and ferry needs (the image's build stage)
#   install-deps.sh image    build, test and run, and the container tools `make image` and
#                            `make test-image` use (podman, buildah, runc, debootstrap,
#                            podman-compose, catatonit for the pods of `podman kube play`);
#                            crun is left out: it fails on some cgroup setups
set -euo pipefail
mode=${1:-all}

packages=(
  build-essential g++ cmake ninja-build ccache pkg-config git python3
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librocksdb-dev
  libprotobuf-dev protobuf-compiler
  libspdlog-dev libfmt-dev
  catch2 librapidcheck-dev
  libyaml-cpp-dev libcli11-dev prometheus-cpp-dev
  libssl-dev zlib1g-dev
)
tools=()
if [ "$mode" != build ]; then
  # test tools: promtool (checks /metrics scrapes), curl (the README's examples)
  packages+=(clang-format procps prometheus curl clang libclang-rt-14-dev)
  # the security tests: GNU SASL (an independent SCRAM implementation), the openssl CLI
  # (test certificates, s_client)
  packages+=(libgsasl-dev openssl)
  # the cluster tests: a real etcd (its JSON gateway is what ferryd talks to)
  packages+=(etcd-server)
  # Test tools found by command: a machine may have them from elsewhere (Node.js from
  # NodeSource bundles npm, and Debian's npm package would conflict with it).
  # kubectl renders the Kubernetes manifests (`kubectl kustomize`): Debian's is 1.20.
  tools=(node:nodejs npm:npm chromium:chromium kubectl:kubernetes-client)
fi
if [ "$mode" = image ]; then
  packages+=(podman buildah runc debootstrap podman-compose catatonit)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
for t in ${tools[@]+"${tools[@]}"}; do
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
