#!/usr/bin/env bash
# Fuzzes hunyu's parsers for a given time each, keeping the corpus in fuzz/corpus/<target>.
#
#   fuzz/run.sh SECONDS [TARGET...]      every target (or those named) for SECONDS each
#   fuzz/run.sh --list                   the targets
#
# Builds with `cargo fuzz build` (libFuzzer, AddressSanitizer, debug assertions and overflow
# checks) on the stable toolchain with RUSTC_BOOTSTRAP=1, one job at a time, into
# $CARGO_TARGET_DIR (default /work/fuzz-target, outside the repository). Then runs each target on
# its corpus and prints, per target: executions, executions per second, edges covered, inputs
# the run found, the corpus kept (files, size), and crashes. A crash's input is written to
# fuzz/artifacts/<target>/ (not kept in git); the run goes on with the next target and the
# script exits 1 at the end.
#
# After its run, a target's corpus is minimised to the fewest inputs that cover the same edges
# (-set_cover_merge=1 -use_counters=0), so that the kept corpus stays small.
#
# Environment: FUZZ_JOBS (cargo jobs, default 1), FUZZ_MAX_LEN (longest input, default 40000:
# past the 32 KiB a token may have), FUZZ_ARGS (more libFuzzer flags),
# FUZZ_NO_BUILD=1 (run the binaries already built, e.g. while src/ is being edited),
# FUZZ_KEEP_ALL=1 (keep every input the run found, unminimised).
set -euo pipefail

FUZZ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$FUZZ_DIR")
TARGET_DIR=${CARGO_TARGET_DIR:-/work/fuzz-target}
JOBS=${FUZZ_JOBS:-1}
TRIPLE=x86_64-unknown-linux-gnu

all_targets() {
    awk '/^\[\[bin\]\]/ {bin = 1; next} bin && /^name = / {gsub(/"/, "", $3); print $3; bin = 0}' "$FUZZ_DIR/Cargo.toml"
}

if [[ ${1:-} == --list ]]; then
    all_targets
    exit 0
fi
if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
    awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "${BASH_SOURCE[0]}"
    exit 2
fi
SECONDS_EACH=$1
shift
if [[ $# -gt 0 ]]; then targets=("$@"); else mapfile -t targets < <(all_targets); fi

if ! command -v cargo-fuzz >/dev/null; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

cd "$REPO"
if [[ -n ${FUZZ_NO_BUILD:-} ]]; then
    echo "== not building (FUZZ_NO_BUILD): running the binaries in $TARGET_DIR as they are"
elif [[ $# -eq 0 ]]; then
    echo "== building every target (jobs: $JOBS, target dir: $TARGET_DIR)"
    RUSTC_BOOTSTRAP=1 CARGO_BUILD_JOBS=$JOBS cargo fuzz build --target-dir "$TARGET_DIR"
else
    for target in "${targets[@]}"; do
        echo "== building $target (jobs: $JOBS, target dir: $TARGET_DIR)"
        RUSTC_BOOTSTRAP=1 CARGO_BUILD_JOBS=$JOBS cargo fuzz build --target-dir "$TARGET_DIR" "$target"
    done
fi

bytes() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
files() { find "$1" -type f | wc -l; }

declare -a report
failed=0
for target in "${targets[@]}"; do
    binary=$TARGET_DIR/$TRIPLE/release/$target
    corpus=$FUZZ_DIR/corpus/$target
    artifacts=$FUZZ_DIR/artifacts/$target
    log=$FUZZ_DIR/artifacts/$target.log
    mkdir -p "$corpus" "$artifacts"
    before_files=$(files "$corpus")
    before_crashes=$(files "$artifacts")
    echo "== $target: ${SECONDS_EACH}s on $before_files inputs"
    set +e
    # shellcheck disable=SC2086
    "$binary" "$corpus" -dict="$FUZZ_DIR/hunyu.dict" -artifact_prefix="$artifacts/" \
        -max_total_time="$SECONDS_EACH" -max_len="${FUZZ_MAX_LEN:-40000}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        ${FUZZ_ARGS:-} >"$log" 2>&1
    status=$?
    set -e
    grep -E '^(INFO: (seed corpus|[0-9]+ files found)|#[0-9]+.*DONE|==[0-9]+==ERROR|thread .* panicked|SUMMARY)' "$log" |
        tail -n 6 | sed 's/^/   /' || true
    if [[ -z ${FUZZ_KEEP_ALL:-} ]]; then
        # Keep the smallest set of inputs that covers every edge the corpus covers.
        merged=$(mktemp -d "$FUZZ_DIR/corpus/.merge-$target.XXXX")
        if "$binary" -set_cover_merge=1 -use_counters=0 "$merged" "$corpus" -timeout=10 -rss_limit_mb=2048 \
            >"$log.merge" 2>&1; then
            rm -rf "$corpus" && mv "$merged" "$corpus"
        else
            rm -rf "$merged"
            echo "   corpus minimisation failed, see $log.merge"
        fi
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    added=$(sed -n 's/^stat::new_units_added: *//p' "$log")
    edges=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1 | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    crashes=$(($(files "$artifacts") - before_crashes))
    if [[ $status -ne 0 || $crashes -gt 0 ]]; then
        failed=1
        echo "   CRASH (exit $status): see $log and $artifacts/"
    fi
    report+=("$(printf '%-18s %11s %7s %6s %6s %7s %9s %7s' "$target" "${execs:-?}" "${rate:-?}" "${edges:-?}" \
        "${added:-?}" "$(files "$corpus")" "$(($(bytes "$corpus") / 1024)) KiB" "$crashes")")
done

echo
printf '%-18s %11s %7s %6s %6s %7s %9s %7s\n' target executions exec/s edges found corpus size crashes
printf '%s\n' "${report[@]}"
echo "corpus total: $(($(bytes "$FUZZ_DIR/corpus") / 1024)) KiB"
exit $failed
