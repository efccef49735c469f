#!/usr/bin/env bash
# fuzz/run.sh (make fuzz): builds the libFuzzer targets into build-fuzz/ with clang, then
# runs each for FUZZ_SECONDS seconds (default 60), two at a time, each on its own copy of
# the seed corpus (build-fuzz/fuzz-run/TARGET/corpus: nothing is written into the
# repository). Prints executions and exec/s per target; exits non-zero if any target
# crashed, leaked, ran out of memory or timed out, and keeps what made it fail in
# build-fuzz/fuzz-run/TARGET/artifacts/. fuzz/README.md says what each target covers.
#   FUZZ_SECONDS=10 fuzz/run.sh              every target for 10 s
#   FUZZ_TARGETS="frame json" fuzz/run.sh    some of them
#   FERRY_FUZZ_STRICT=0 fuzz/run.sh          step around the fixed findings (fuzz/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD_DIR:-build-fuzz}
parallel=${FUZZ_PARALLEL:-2}  # targets at once
timeout=${FUZZ_TIMEOUT:-25}   # seconds one input may take
read -r -a targets <<<"${FUZZ_TARGETS:-frame publish deliver scram config json cloudevents}"

declare -A max_len=([frame]=4096 [publish]=4096 [deliver]=4096 [scram]=512 [config]=1024
  [json]=1024 [cloudevents]=2048)
declare -A dict=([frame]=proto [publish]=proto [deliver]=proto [scram]=scram [config]=config
  [json]=json [cloudevents]=cloudevents)

# Configured once with clang (the whole project: every library is instrumented); CC and
# CXX matter only to the first configure.
if [ ! -f "$build/build.ninja" ]; then
  mkdir -p "$build"
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFERRY_FUZZ=ON >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    exit 1
  }
fi
targets_to_build=()
for t in "${targets[@]}"; do
  [ -n "${max_len[$t]:-}" ] || { echo "fuzz: no target '$t'" >&2; exit 2; }
  targets_to_build+=("${t}_fuzz")
done
cmake --build "$build" -j "${FUZZ_BUILD_JOBS:-2}" --target "${targets_to_build[@]}"

# Copies the files of directory $1 that $2 does not have yet.
copy_new() {
  local f
  [ -d "$1" ] || return 0
  for f in "$1"/*; do
    [ -f "$f" ] && [ ! -e "$2/${f##*/}" ] && cp "$f" "$2/"
  done
  return 0
}

run_target() {
  local t=$1 work="$build/fuzz-run/$1"
  mkdir -p "$work/corpus" "$work/artifacts"
  copy_new "fuzz/corpus/$t" "$work/corpus"
  copy_new "fuzz/regressions/$t" "$work/corpus"
  local rc=0
  nice -n 19 "$build/fuzz/${t}_fuzz" "$work/corpus" -max_total_time="$seconds" \
    -max_len="${max_len[$t]}" -rss_limit_mb=2048 -timeout="$timeout" -print_final_stats=1 \
    -dict="fuzz/${dict[$t]}.dict" -artifact_prefix="$work/artifacts/" >"$work/log" 2>&1 || rc=$?
  echo "$rc" >"$work/rc"
}

echo "fuzz: ${targets[*]}, ${seconds} s each, ${parallel} at a time"
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  rm -f "$build/fuzz-run/$t/rc"
  run_target "$t" &
  running=$((running + 1))
done
wait

failed=0
printf '%-8s %12s %9s %7s %7s  %s\n' target executions exec/s cov ft result
for t in "${targets[@]}"; do
  work="$build/fuzz-run/$t"
  rc=$(cat "$work/rc" 2>/dev/null || echo 1)
  units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$work/log" | tail -1 | cut -d' ' -f2)
  result=ok
  if [ "$rc" != 0 ]; then
    failed=1
    artifact=$(grep -o "Test unit written to .*" "$work/log" | tail -1 | sed 's/Test unit written to //')
    result="FAILED (exit $rc; ${artifact:-no artifact}; log $work/log)"
  fi
  printf '%-8s %12s %9s %7s %7s  %s\n' "$t" "${units:--}" "${speed:--}" "${cov:--}" "${ft:--}" \
    "$result"
done
if [ "$failed" -ne 0 ]; then
  for t in "${targets[@]}"; do
    work="$build/fuzz-run/$t"
    [ "$(cat "$work/rc" 2>/dev/null || echo 1)" = 0 ] && continue
    echo "---- $t: the end of $work/log" >&2
    grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse|INITED|RELOAD)' "$work/log" | tail -40 >&2
  done
  exit 1
fi
