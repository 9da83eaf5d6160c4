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
# (every case in one clang run at the end, tests/clang_check.sh; NO_CLANG=1
# skips that).
# tests/numerics/run.sh runs the extreme-value cases through this script with
# GOLDEN_DIR=tests/numerics GOLDEN_SUITE=numerics GOLDEN_FLAGS=-DEXTREME=1.
cd "$(dirname "$0")/../.." || exit 2
. tests/reference_blas.sh # torch as the goldens were derived, whatever BLAS is installed
g=${GOLDEN_DIR:-tests/golden}
s=${GOLDEN_SUITE:-golden}
h=tests/golden/harness.c
export GOLDEN_DIR GOLDEN_SUITE GOLDEN_FLAGS
CC=${CC:-cc}
DNNC=${DNNC:-build/dnnc}   # overridable, to test the suite itself
# a guard against a hang, not a speed test: the MLPerf networks' cases take
# 10-60 s each on a busy machine
RUN_TIMEOUT=300

# first_error FILE: the first line of FILE that says "error", else its first line.
first_error() {
    grep -m1 'error' "$1" || head -n1 "$1"
}

# has_cpu FLAG...: true when /proc/cpuinfo lists every FLAG.
has_cpu() {
    for f in "$@"; do grep -q " $f\( \|$\)" /proc/cpuinfo 2>/dev/null || return 1; done
}

# vector_variant NAME CFLAGS CPU-FLAGS: the checks of one() again with the
# case built with CFLAGS, named CASE.NAME, when the CPU has CPU-FLAGS.
vector_variant() {
    # shellcheck disable=SC2086 # $3 is a list of CPU flags, $2 of compiler flags
    has_cpu $3 || return 0
    eval "pch=\$PCH_$1" # the precompiled kernels for these flags (tests/pch.sh), if any
    # shellcheck disable=SC2086
    if $CC -std=c99 -O2 $2 -Wall -Wextra -Wpedantic -Werror $pch -Iruntime \
            "$t/$c.c" "$t/$c.harness.o" build/libdnnrt.a -lm -o "$t/$c.$1" >"$t/$c.err" 2>&1; then
        timeout $RUN_TIMEOUT "$t/$c.$1" "$g/data/$c.golden.safetensors" "$g/data/$c.weights.safetensors" "$t/$c.$1" |
            sed "s#^\([A-Z]*\) $s/$c #\1 $s/$c.$1 #"
    else
        echo "FAIL $s/$c.$1 compile: $(first_error "$t/$c.err")"
    fi
}

# device_variant: a case with frozen parameters again as training code for
# firmware (--embed-weights without --inference: the frozen weights const,
# in flash, the update fused into the backward pass), as CASE.device: the
# forward pass, the eval loss and the 20 steps against PyTorch's (harness.c's
# DEVICE checks).
device_variant() {
    if ! timeout 30 "$DNNC" --embed-weights "$g/data/$c.weights.safetensors" "$dnn" -o "$t/$c.device.c" >"$t/$c.err" 2>&1 ||
        ! $CC -std=c99 -O1 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$t" -DMODEL="$c" -DMODEL_UC="$uc" \
            -DCLASS_TARGET=$class -DDEVICE=1 $GOLDEN_FLAGS -include "$t/$c.device.h" $h "$t/$c.device.c" build/libdnnrt.a \
            -lm -o "$t/$c.device" >>"$t/$c.err" 2>&1; then
        echo "FAIL $s/$c.device compile: $(first_error "$t/$c.err")"
        return
    fi
    timeout $RUN_TIMEOUT "$t/$c.device" "$g/data/$c.golden.safetensors" "$g/data/$c.weights.safetensors" |
        sed "s#^\([A-Z]*\) $s/$c #\1 $s/$c.device #"
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
    # the harness once, plain C (it only reads, calls and compares): each build links it
    if ! $CC -std=c99 -O1 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$t" \
            -DMODEL="$c" -DMODEL_UC="$uc" -DCLASS_TARGET=$class $GOLDEN_FLAGS -include "$t/$c.h" \
            -c $h -o "$t/$c.harness.o" >"$t/$c.err" 2>&1 ||
       ! $CC -std=c99 -O1 -Wall -Wextra -Wpedantic -Werror -Iruntime \
            "$t/$c.c" "$t/$c.harness.o" build/libdnnrt.a -lm -o "$t/$c" >"$t/$c.err" 2>&1; then
        echo "FAIL $s/$c compile: cc: $(first_error "$t/$c.err")"
        return
    fi
    echo "PASS $s/$c compile" # (and clang's check of the C, once all cases ran: tests/clang_check.sh)
    timeout $RUN_TIMEOUT "$t/$c" "$g/data/$c.golden.safetensors" "$g/data/$c.weights.safetensors" "$t/$c"
    rc=$?
    [ $rc -gt 1 ] && echo "FAIL $s/$c run: the harness died (exit status $rc)"
    # The speed kernels' vector paths on a machine that has them (runtime/dnn.h):
    # DNN_V8 with AVX2 and FMA as CASE.avx, DNN_V8X2 with AVX-512F as CASE.avx512.
    case " $GOLDEN_VECTOR " in
        *" $c "*)
            vector_variant avx "-mavx2 -mfma" "avx2 fma"
            vector_variant avx512 "-mavx512f -mavx2 -mfma" "avx512f avx2 fma"
            ;;
    esac
    if grep -q '^ *freeze ' "$dnn"; then
        device_variant
    fi
    # DNN_V8X2 adds the same products in the same order as DNN_V8: the trained
    # weights and the outputs after training must be the same bits.
    if [ -f "$t/$c.avx512.out.f32" ]; then
        if cmp -s "$t/$c.avx.out.f32" "$t/$c.avx512.out.f32" &&
           cmp -s "$t/$c.avx.trained.safetensors" "$t/$c.avx512.trained.safetensors"; then
            echo "PASS $s/$c.avx512 same_bits"
        else
            echo "FAIL $s/$c.avx512 same_bits: trained weights or outputs differ from the AVX2 build's"
        fi
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
# AVX2 and AVX-512 (the same bits) on the cases named, or on the ones that use
# every operation between them (covering.sh) when the suite runs them all
# (tests/inference builds every case's --inference C with AVX2)
if [ -z "${GOLDEN_VECTOR+set}" ]; then
    GOLDEN_VECTOR=$cases
    [ $# -eq 0 ] && [ "$g" = tests/golden ] && GOLDEN_VECTOR=$(sh tests/golden/covering.sh "$DNNC")
fi
GOLDEN_VECTOR=$(echo $GOLDEN_VECTOR) # one line: one() matches " CASE "
. tests/pch.sh
PCH_avx=$(pch_flags "$tmp/pch.avx" -O2 -mavx2 -mfma)
PCH_avx512=$(pch_flags "$tmp/pch.avx512" -O2 -mavx512f -mavx2 -mfma)
export GOLDEN_VECTOR PCH_avx PCH_avx512
printf '%s\n' $cases | xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} sh tests/golden/run.sh --one "$tmp" {}
clang_files=
for c in $cases; do
    cat "$tmp/$c.log"
    [ -f "$tmp/$c.c" ] && clang_files="$clang_files $tmp/$c.c"
    # a case meant to run on AVX2 and AVX-512 did (the builds' own verdicts are in its log)
    case " $GOLDEN_VECTOR " in
        *" $c "*)
            if has_cpu avx2 fma; then
                grep -q "^[A-Z]* $s/$c.avx " "$tmp/$c.log" || echo "FAIL $s/$c.avx: the AVX2 build did not run"
            fi
            if has_cpu avx512f avx2 fma; then
                grep -q "^[A-Z]* $s/$c.avx512 " "$tmp/$c.log" || echo "FAIL $s/$c.avx512: the AVX-512 build did not run"
            fi
            ;;
    esac
done
# the generated C warning-free under clang too (generated-c.md), every case in one run
. tests/clang_check.sh
# shellcheck disable=SC2086 # a list of files
clang_check "$s" $clang_files

trained=""
for c in $cases; do
    [ -f "$tmp/$c.trained.safetensors" ] && trained="$trained $c"
done
if [ -z "$trained" ]; then
    :
elif ! /usr/bin/python3 -c "$HAS_MODULE" torch 2>/dev/null; then
    echo "SKIP $s/torch: /usr/bin/python3 cannot import torch"
else
    /usr/bin/python3 tests/golden/torch_roundtrip.py "$tmp" $trained
fi
exit 0
