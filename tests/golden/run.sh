#!/bin/sh
# tests/golden/run.sh — the PyTorch-oracle suite: every tests/golden/cases/CASE.dnn
# is compiled by build/dnnc, linked with harness.c and the runtime, and
# checked against data/CASE.*.safetensors (see README.md). Prints one
# "PASS golden/CASE GROUP", "FAIL golden/CASE GROUP: why" line per check group;
# then, when /usr/bin/python3 has torch, a round trip of the trained weights
# into the PyTorch twins ("golden/CASE torch").
# Usage: sh tests/golden/run.sh [CASE ...]   (from anywhere; default: every case)
# The generated C is compiled with $CC (default cc) -Wall -Wextra -Wpedantic
# -Werror, and checked with clang the same way when clang is installed
# (NO_CLANG=1 skips that).
# tests/numerics/run.sh runs the extreme-value cases through this script with
# GOLDEN_DIR=tests/numerics GOLDEN_SUITE=numerics GOLDEN_FLAGS=-DEXTREME=1.
cd "$(dirname "$0")/../.." || exit 2
g=${GOLDEN_DIR:-tests/golden}
s=${GOLDEN_SUITE:-golden}
h=tests/golden/harness.c
export GOLDEN_DIR GOLDEN_SUITE GOLDEN_FLAGS
CC=${CC:-cc}
DNNC=${DNNC:-build/dnnc}   # overridable, to test the suite itself

# first_error FILE: the first line of FILE that says "error", else its first line.
first_error() {
    grep -m1 'error' "$1" || head -n1 "$1"
}

# one CASE TMP: compiles and runs one case's harness.
one() {
    c=$1 t=$2 dnn=$g/cases/$1.dnn
    uc=$(printf %s "$c" | tr 'a-z' 'A-Z')
    if [ ! -f "$g/data/$c.golden.safetensors" ] || [ ! -f "$g/data/$c.weights.safetensors" ]; then
        echo "FAIL $s/$c data: no golden files; run make goldens"
        return
    fi
    if ! timeout 30 "$DNNC" "$dnn" -o "$t/$c.c" >"$t/$c.err" 2>&1 || [ ! -f "$t/$c.h" ]; then
        echo "FAIL $s/$c compile: $(first_error "$t/$c.err")"
        return
    fi
    class=0
    grep -Eq 'target[[:space:]]+y[[:space:]]*:[[:space:]]*class' "$dnn" && class=1
    if ! $CC -std=c99 -O1 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$t" \
            -DMODEL="$c" -DMODEL_UC="$uc" -DCLASS_TARGET=$class $GOLDEN_FLAGS -include "$t/$c.h" \
            $h "$t/$c.c" build/libdnnrt.a -lm -o "$t/$c" >"$t/$c.err" 2>&1; then
        echo "FAIL $s/$c compile: cc: $(first_error "$t/$c.err")"
        return
    fi
    # The generated C must also be warning-free under clang (generated-c.md),
    # which warns where gcc does not (e.g. -Wunused-but-set-variable on
    # `x += ...`). Not blocking: the numeric checks still run.
    if [ -z "$NO_CLANG" ] && command -v clang >/dev/null 2>&1 &&
        ! clang -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -Iruntime "$t/$c.c" >"$t/$c.err" 2>&1; then
        echo "FAIL $s/$c compile: clang: $(first_error "$t/$c.err")"
    else
        echo "PASS $s/$c compile"
    fi
    timeout 30 "$t/$c" "$g/data/$c.golden.safetensors" "$g/data/$c.weights.safetensors" "$t/$c"
    rc=$?
    [ $rc -gt 1 ] && echo "FAIL $s/$c run: the harness died (exit status $rc)"
    # The speed kernels' AVX path (DNN_V8 in runtime/dnn.h) on a machine that has AVX2 and FMA:
    # the same checks again, named CASE.avx
    if grep -q ' avx2 ' /proc/cpuinfo 2>/dev/null && grep -q ' fma ' /proc/cpuinfo &&
       $CC -std=c99 -O2 -mavx2 -mfma -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$t" \
            -DMODEL="$c" -DMODEL_UC="$uc" -DCLASS_TARGET=$class $GOLDEN_FLAGS -include "$t/$c.h" \
            $h "$t/$c.c" build/libdnnrt.a -lm -o "$t/$c.avx" >"$t/$c.err" 2>&1; then
        timeout 30 "$t/$c.avx" "$g/data/$c.golden.safetensors" "$g/data/$c.weights.safetensors" "$t/$c.avx" |
            sed "s#^\([A-Z]*\) $s/$c #\1 $s/$c.avx #"
    elif grep -q ' avx2 ' /proc/cpuinfo 2>/dev/null; then
        echo "FAIL $s/$c.avx compile: $(first_error "$t/$c.err")"
    fi
    return 0
}

if [ "$1" = --one ]; then   # internal: run.sh --one TMP CASE (for xargs -P)
    one "$3" "$2" >"$2/$3.log" 2>&1
    exit 0
fi

if [ ! -x "$DNNC" ] || [ ! -f build/libdnnrt.a ]; then
    echo "FAIL golden: build/dnnc or build/libdnnrt.a is missing (run make)"
    exit 1
fi
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
if [ $# -gt 0 ]; then
    cases="$*"
else
    cases=$(cd $g/cases && ls *.dnn | sed 's/\.dnn$//')
fi
printf '%s\n' $cases | xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} sh tests/golden/run.sh --one "$tmp" {}
for c in $cases; do
    cat "$tmp/$c.log"
done

trained=""
for c in $cases; do
    [ -f "$tmp/$c.trained.safetensors" ] && trained="$trained $c"
done
if [ -z "$trained" ]; then
    :
elif ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "SKIP $s/torch: /usr/bin/python3 cannot import torch"
else
    /usr/bin/python3 tests/golden/torch_roundtrip.py "$tmp" $trained
fi
exit 0
