#!/bin/sh
# Fuzzing suite (docs/reliability.md): builds the libFuzzer targets
# (make fuzz-build: the compiler, the safetensors reader, the data
# readers), runs every reproducer in tests/fuzz/regressions/ through its
# target (the name's prefix: compiler_, safetensors_ or data_), then runs
# each target for FUZZ_CHECK_SECONDS (default 8) from the seed corpus with
# -seed=1. Prints "PASS fuzz/NAME", "FAIL fuzz/NAME: why" or "SKIP fuzz/...:
# why" (clang without libFuzzer). The long runs are `make fuzz`.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
FUZZ_CC=${FUZZ_CC:-clang}
seconds=${FUZZ_CHECK_SECONDS:-8}
out=build/fuzz

printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n * 0; }\n' >"$tmp/probe.c"
if ! "$FUZZ_CC" -fsanitize=fuzzer,address,undefined "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1; then
    echo "SKIP fuzz/all: $FUZZ_CC cannot build libFuzzer targets (-fsanitize=fuzzer)"
    exit 0
fi
if ! make -s fuzz-build FUZZ_CC="$FUZZ_CC" >"$tmp/build.log" 2>&1; then
    echo "FAIL fuzz/build: make fuzz-build failed"
    tail -n 5 "$tmp/build.log" | sed 's/^/    /'
    exit 0
fi
echo "PASS fuzz/build"

# why LOG: the first line of a sanitizer or libFuzzer report in LOG
why() { grep -m1 -E 'ERROR|runtime error|check failed|internal error|timeout|out-of-memory' "$1" | cut -c 1-200; }

for f in tests/fuzz/regressions/*; do
    [ -f "$f" ] || continue
    name=${f##*/}
    target=${name%%_*}
    if [ ! -x "$out/fuzz_$target" ]; then
        echo "FAIL fuzz/regress/$name: no target fuzz_$target for its prefix"
    elif "$out/fuzz_$target" -timeout=10 -rss_limit_mb=2048 "$f" >"$tmp/log" 2>&1; then
        echo "PASS fuzz/regress/$name"
    else
        echo "FAIL fuzz/regress/$name: $(why "$tmp/log")"
    fi
done

sh tests/fuzz/seeds.sh "$tmp/seeds" || exit 2
for target in compiler safetensors data; do
    mkdir -p "$tmp/corpus/$target" "$tmp/crashes"
    dict=; [ "$target" = compiler ] && dict=-dict=tests/fuzz/dnn.dict
    # shellcheck disable=SC2086 # $dict is empty or one flag
    if "$out/fuzz_$target" $dict -seed=1 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$tmp/crashes/" "$tmp/corpus/$target" "$tmp/seeds/$target" \
        >"$tmp/log" 2>&1; then
        echo "PASS fuzz/run/$target ($(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log") inputs in ${seconds}s)"
    else
        mkdir -p "$out/crashes"
        cp "$tmp/crashes/"* "$out/crashes/" 2>/dev/null
        echo "FAIL fuzz/run/$target: $(why "$tmp/log") (input saved in $out/crashes/)"
    fi
done
