#!/bin/sh
# tests/sanitize/run.sh — every model through AddressSanitizer and UBSan,
# and one training run through Valgrind.
#
# For each model (models/*.dnn but the MLPerf Tiny networks, light_models in
# tests/random_data.sh; tests/golden/cases/*.dnn; the extreme-value
# cases of tests/numerics make NaN from random data by design):
#   dnnc     build/asan/dnnc (`make asan`, -fsanitize=address,undefined
#            -fno-sanitize-recover=all, shared with tests/diag) emits every
#            kind: c, summary, ir, dot with --backward and -MD in one run;
#            --inference with report-json and --batch; --optimize=size;
#            --main --check-finite; the model from standard input; for the
#            cases with PyTorch data --emit=selftest and --embed-weights;
#   program  (of the golden cases, those of tests/golden/covering.sh, which
#            use every operation between them; SANITIZE_PROGRAMS=all: every one)
#            the --main program (checking every layer for NaN and infinity),
#            compiled with the same sanitizers and linked with
#            build/asan/libdnnrt.a, on random data of 5 batches
#            (a CSV laid out from the program's --help): train one epoch
#            (5 training steps, then validation), eval, predict (forward),
#            gradcheck (backward against central differences, one element
#            per tensor), and for
#            the golden cases `check` (forward on PyTorch's inputs).
# Any sanitizer report, leak or crash fails (leaks are looked for in every
# run, but in the first dnnc run alone of a golden case whose program does
# not run, which is not read from standard input either); so does a command that should
# succeed and does not (gradcheck and check may report a mismatch: they
# run on random data or compare with tolerances, which is not what this
# suite tests). Then Valgrind memcheck (--error-exitcode, definite and
# indirect leaks as errors) on the XOR training program: train 20 epochs,
# eval, predict. Prints "PASS sanitize/NAME PART (N runs)" lines.
# Usage: sh tests/sanitize/run.sh [MODEL.dnn ...]
cd "$(dirname "$0")/../.." || exit 2
CC=${CC:-cc}
# -g1: line tables, all a report needs (a third faster to compile than -g);
# -O1, as AddressSanitizer's documentation advises: at -O0 gcc spends twice the
# time on the instrumented kernels (iris's program: 2.1 against 1.0 s), and
# both levels report the same out-of-bounds index in a kernel
SAN="-g1 -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
# a sanitizer's report, in a run's stderr
REPORT='runtime error:|ERROR: [A-Za-z]*Sanitizer|SUMMARY: [A-Za-z]*Sanitizer'

# run WANT CMD...: runs CMD (stdout and stderr to $t/err) under a time
# limit; sets $why unless the exit status is at most WANT and stderr holds
# no sanitizer report. Counts the runs in $runs.
run() {
    want=$1; shift
    runs=$((runs + 1))
    ASAN_OPTIONS=detect_leaks=$leaks timeout 600 "$@" >"$t/err" 2>&1 </dev/null
    rc=$?
    [ -n "$why" ] && return
    if grep -q -E "$REPORT" "$t/err"; then
        why="$(echo "$*" | sed "s#$t/##g" | cut -c 1-80): $(grep -m1 -E "$REPORT" "$t/err" | cut -c 1-200)"
    elif [ $rc -gt "$want" ]; then
        why="$(echo "$*" | sed "s#$t/##g" | cut -c 1-80): exit $rc: $(grep -v '^ *$' "$t/err" | head -n 1 | cut -c 1-160)"
    fi
}

# report NAME PART: the PASS or FAIL line of one part
report() {
    if [ -n "$why" ]; then echo "FAIL sanitize/$1 $2: $why"; else echo "PASS sanitize/$1 $2 ($runs runs)"; fi
    why= runs=0
}

# data PROGRAM FILE NAME: random samples of the program (tests/random_data.sh)
. tests/random_data.sh

# label MODEL: models/xor.dnn -> xor, tests/golden/cases/xor.dnn -> golden/xor
label() {
    case $1 in tests/*/cases/*) echo "$(basename "$(dirname "$(dirname "$1")")")/$(basename "$1" .dnn)";;
               *) basename "$1" .dnn;; esac
}

# one MODEL TMP: both parts for one model
one() {
    f=$1 n=$(label "$1") t=$2/$(label "$1" | tr / _)
    d=$(dirname "$(dirname "$f")")/data/$(basename "$f" .dnn)
    mkdir -p "$t"
    why= runs=0
    D=build/asan/dnnc
    # the program of a golden case only when it brings an operation (covering.sh): each
    # compile with the sanitizers costs a second or more, and 70 cases repeat code paths
    program=1
    case "$f:$SANITIZE_PROGRAMS" in
        tests/golden/cases/*:all | tests/golden/cases/*:*" $(basename "$f" .dnn) "*) ;;
        tests/golden/cases/*) program= ;;
    esac
    # leaks checked in every run, but in the first run alone of a case without its
    # program: a check costs about half of a sanitized dnnc's run; such a case is not
    # read from standard input either (the same path for every model)
    leaks=1
    run 0 $D --emit=c,summary,ir,dot,report --backward -MD "$f" -o "$t/m.c"
    [ -n "$program" ] || leaks=0
    run 0 $D --emit=c,report-json --inference --batch 3 "$f" -o "$t/inf.c"
    run 0 $D --inference --optimize=size "$f" -o "$t/size.c"
    run 0 $D --main --check-finite "$f" -o "$t/prog.c"
    [ -n "$program" ] && run 0 sh -c "$D - -o '$t/stdin.c' <'$f'"
    if [ -f "$d.golden.safetensors" ]; then
        run 0 $D --emit=selftest --golden "$d.golden.safetensors" --weights "$d.weights.safetensors" "$f" -o "$t/st.c"
        run 0 $D --inference --embed-weights "$d.weights.safetensors" "$f" -o "$t/emb.c"
    fi
    report "$n" dnnc
    if [ -z "$program" ]; then
        rm -rf "$t"
        return
    fi

    if [ ! -f "$t/prog.c" ]; then
        why="dnnc --main wrote no program"
    elif ! $CC -std=c99 $SAN -Wall -Wextra -Wpedantic -Werror -Iruntime "$t/prog.c" build/asan/libdnnrt.a \
             -lz -lm -o "$t/prog" >"$t/err" 2>&1; then
        why="cc: $(grep -m1 error "$t/err" | cut -c 1-200)"
    else
        P=$t/prog
        data "$P" "$t/data.csv" "$n"
        run 0 "$P" train "$t/data.csv" --val "$t/data.csv" --epochs 1 --quiet --save "$t/w.safetensors"
        run 0 "$P" eval "$t/data.csv" --weights "$t/w.safetensors"
        run 0 "$P" predict "$t/data.csv" --weights "$t/w.safetensors" --out "$t/p.csv"
        run 1 "$P" gradcheck "$t/data.csv" --coords 1
        [ -f "$d.golden.safetensors" ] &&
            run 1 "$P" check --weights "$d.weights.safetensors" --golden "$d.golden.safetensors"
    fi
    report "$n" program
    rm -rf "$t"
}

if [ "$1" = --one ]; then   # internal: run.sh --one TMP MODEL (for xargs -P)
    one "$3" "$2" >"$2/$(label "$3" | tr / _).log" 2>&1
    exit 0
fi

if [ ! -x build/dnnc ]; then
    echo "FAIL sanitize: build/dnnc is missing (run make)"
    exit 1
fi
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
if ! make -s asan CC="$CC" >"$tmp/make.log" 2>&1; then
    echo "FAIL sanitize/build: make asan: $(grep -m1 -i error "$tmp/make.log" | cut -c 1-200)"
    exit 0
fi
models=${*:-$(light_models; ls tests/golden/cases/*.dnn)}
# the golden cases whose programs run (all when models are named)
if [ -z "${SANITIZE_PROGRAMS+set}" ]; then
    SANITIZE_PROGRAMS=all
    [ $# -eq 0 ] && SANITIZE_PROGRAMS=" $(sh tests/golden/covering.sh) "
fi
export SANITIZE_PROGRAMS
printf '%s\n' $models | xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} sh tests/sanitize/run.sh --one "$tmp" {}
for f in $models; do
    cat "$tmp/$(label "$f" | tr / _).log"
done

# ---- Valgrind memcheck on one trained example ------------------------------------------
if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP sanitize/valgrind: valgrind is not installed"
    exit 0
fi
t=$tmp/vg why= runs=0
mkdir -p "$t"
printf 'x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n' >"$t/xor.csv"
if ! build/dnnc --main models/xor.dnn -o "$t/xor.c" 2>"$t/err" ||
   ! $CC -std=c99 -g -O1 -Iruntime "$t/xor.c" build/libdnnrt.a -lz -lm -o "$t/xor" 2>"$t/err"; then
    echo "FAIL sanitize/valgrind xor: build: $(head -n 1 "$t/err")"
    exit 0
fi
VG="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect"
for cmd in "train $t/xor.csv --epochs 20 --quiet --save $t/xor.safetensors" \
           "eval $t/xor.csv --weights $t/xor.safetensors" "predict $t/xor.csv --weights $t/xor.safetensors"; do
    runs=$((runs + 1))
    $VG "$t/xor" $cmd >"$t/out" 2>"$t/err"
    rc=$?
    if [ $rc -ne 0 ] && [ -z "$why" ]; then
        why="${cmd%% *}: exit $rc: $(grep -m1 -E '==[0-9]+== [A-Z]|error' "$t/err" | cut -c 1-200)"
    fi
done
report valgrind "xor (memcheck: train 20 epochs, eval, predict)"
