# The front door: every target installs what is missing first (scripts/install-deps.sh).
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CONFIG ?= config/ferryd.yaml
export CCACHE_SLOPPINESS = pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: all deps configure build run test asan tsan fuzz format check-format bench bench-compare bench-http clean \
  image test-image

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	mkdir -p data
	$(BUILD_DIR)/broker/ferryd --config $(CONFIG) --data-dir data

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

asan:
	$(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=Debug CMAKE_ARGS=-DFERRY_SANITIZE=ON

# ThreadSanitizer: the loop, the storage threads and the client threads. A race fails the
# process that found it (ferryd or a test binary), so its test fails. Races inside the
# uninstrumented RocksDB library are suppressed (scripts/tsan.supp says why).
tsan: export TSAN_OPTIONS = halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$(CURDIR)/scripts/tsan.supp
tsan:
	$(MAKE) test BUILD_DIR=build-tsan BUILD_TYPE=RelWithDebInfo CMAKE_ARGS=-DFERRY_TSAN=ON

# libFuzzer targets of every hand-written decoder (fuzz/README.md): built with clang into
# build-fuzz/, each run for FUZZ_SECONDS on a copy of its seed corpus, two at a time; fails
# on a crash, a leak or a timeout (the input is kept in build-fuzz/fuzz-run/TARGET/artifacts/).
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./fuzz/run.sh

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

check-format:
	git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run -Werror

# The standard workloads against a fresh ferryd each, ferry alone (docs/BENCHMARKS.md).
BENCH_WORKLOADS ?= mem-throughput-100B mem-pubsub-100B mem-latency-5k mem-latency-5k-acks mem-fanout-8 \
  log-durable-1KiB log-latency-5k log-latency-5k-nosync log-catchup-1GiB connections-10k
BENCH_ARGS ?= --warmup-s 2 --duration-s 10
bench: build
	@$(BUILD_DIR)/bench/ferry-bench --list
	@$(BUILD_DIR)/bench/ferry-bench --header --ferryd $(BUILD_DIR)/broker/ferryd -w $(firstword $(BENCH_WORKLOADS)) $(BENCH_ARGS) 2>/dev/null
	@for w in $(wordlist 2,99,$(BENCH_WORKLOADS)); do \
	  $(BUILD_DIR)/bench/ferry-bench --ferryd $(BUILD_DIR)/broker/ferryd -w $$w $(BENCH_ARGS) 2>/dev/null; done

# ferry against RabbitMQ, NATS (core, JetStream) and Redis (pub/sub, streams), side by side:
# installs the peers and their C clients (scripts/install-bench-deps.sh), configures again so
# that ferry-bench gains their drivers, runs the standard suite interleaved within a
# 30-minute budget counted from here, and rewrites the generated part of docs/BENCHMARKS.md
# and docs/bench/*.svg. Raw results: $(BUILD_DIR)/bench-compare/. BENCH_FULL=1: longer
# runs, more rounds, backlogs at full size (hours, not bounded to 30 minutes).
BENCH_COMPARE_START := $(shell date +%s)
BENCH_COMPARE_ARGS ?=
ifeq ($(BENCH_FULL),1)
BENCH_COMPARE_ARGS += --full
endif
bench-compare: deps
	./scripts/install-bench-deps.sh
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target ferryd ferry-bench
	python3 bench/compare/compare.py --build-dir $(BUILD_DIR) \
	  --raw-dir $(BUILD_DIR)/bench-compare --started-at $(BENCH_COMPARE_START) $(BENCH_COMPARE_ARGS)

# Publishing over HTTP (wrk, one message per request, 64 connections) against the binary
# protocol, and push delivery to a local handler, in one run: docs/BENCHMARKS.md, "The
# event bus over HTTP".
bench-http: build
	./scripts/install-bench-deps.sh
	python3 bench/http/http_bench.py --ferryd $(BUILD_DIR)/broker/ferryd \
	  --ferry-bench $(BUILD_DIR)/bench/ferry-bench --push-bench $(BUILD_DIR)/bench/ferry-push-bench \
	  --ws-bench $(BUILD_DIR)/bench/ferry-ws-bench

# Containers (README.md, "Containers"): the base image from Debian's repositories once
# (scripts/base-image.sh), then ferryd's image and the two example services' images, with
# podman (chroot isolation and the host network: this needs no daemon and no bridge).
PODMAN ?= podman
PODMAN_BUILD = $(PODMAN) build --isolation chroot --network host --format docker
IMAGE ?= localhost/ferryd:latest
VERSION := $(shell grep -m1 -o 'ferry VERSION [0-9.]*' CMakeLists.txt | cut -d' ' -f3)
image:
	./scripts/install-deps.sh image
	PODMAN="$(PODMAN)" ./scripts/base-image.sh
	$(PODMAN_BUILD) --target build -t localhost/ferry-build:local .
	$(PODMAN_BUILD) -t $(IMAGE) -t localhost/ferryd:$(VERSION) .
	$(PODMAN_BUILD) -t localhost/ferry-login:latest examples/login
	$(PODMAN_BUILD) -t localhost/ferry-audit:latest examples/audit
	@$(PODMAN) image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'ferryd|ferry-login|ferry-audit'

# The container smoke test: the images above, ferryd in a container with a volume, the
# host CLI against it, SIGTERM, restart and recovery; compose; Kubernetes manifests with
# `podman kube play` (tests/image/image_test.py says what it checks).
test-image: image build
	python3 tests/image/image_test.py --build-dir $(BUILD_DIR) --image $(IMAGE)

clean:
	rm -rf $(BUILD_DIR)
