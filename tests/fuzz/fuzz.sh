#!/bin/sh
# Runs the libFuzzer targets (make fuzz; docs/reliability.md):
#
#   sh tests/fuzz/fuzz.sh SECONDS [TARGET...]    (TARGET: compiler, safetensors, data; default all)
#
# each for SECONDS of wall time, one after the other, with the seed corpus
# (tests/fuzz/seeds.sh), the dictionary for the compiler, a 10 s limit per
# input and 2 GB of memory. New inputs go to build/fuzz/corpus/TARGET,
# crashes, leaks and timeouts to build/fuzz/crashes/, the log to
# build/fuzz/TARGET.log; a line per target gives executions, corpus size
# and CPU seconds. Extra libFuzzer flags come from $FUZZ_FLAGS (e.g.
# -seed=1); $FUZZ_BIN is where the targets are (default build/fuzz) and
# $FUZZ_LOGS where the logs go (default build/fuzz), so a long run can use
# copies while the targets are rebuilt. Exits 1 when any target found
# something.
cd "$(dirname "$0")/../.." || exit 2
seconds=${1:-60}; shift
targets=${*:-compiler safetensors data}
out=build/fuzz
logs=${FUZZ_LOGS:-$out}
sh tests/fuzz/seeds.sh "$out/seeds" || exit 2
mkdir -p "$out/crashes" "$logs"
status=0
for t in $targets; do
    bin=${FUZZ_BIN:-$out}/fuzz_$t
    [ -x "$bin" ] || { echo "fuzz: $bin is not built (make fuzz-build)"; exit 2; }
    mkdir -p "$out/corpus/$t"
    dict=; [ "$t" = compiler ] && dict=-dict=tests/fuzz/dnn.dict
    log=$logs/$t.log
    # shellcheck disable=SC2086 # $dict and $FUZZ_FLAGS are lists of flags
    /usr/bin/time -f 'cpu_seconds: %U user %S system' -o "$logs/$t.time" \
        "$bin" $dict -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$t-" $FUZZ_FLAGS "$out/corpus/$t" "$out/seeds/$t" >"$log" 2>&1
    rc=$?
    cat "$logs/$t.time" >>"$log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cpu=$(awk '/^cpu_seconds:/ { printf "%.0f", $2 + $4 }' "$logs/$t.time")
    echo "fuzz_$t: ${runs:-?} executions, $(ls "$out/corpus/$t" | wc -l) inputs in build/fuzz/corpus/$t, ${cpu:-?} CPU s, exit $rc"
    if [ $rc -ne 0 ]; then
        status=1
        grep -m3 -E '^==[0-9]+==ERROR|SUMMARY|runtime error|check failed|deadly signal|timeout|out-of-memory|exited' "$log" | sed 's/^/    /'
        grep -m1 'Test unit written to' "$log" | sed 's/^/    /'
    fi
done
exit $status
