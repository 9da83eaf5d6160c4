#!/bin/sh
# tests/quant/golden.sh — dnnc --inference --quantize=int8 against PyTorch's
# post-training quantization of the same model (make_golden.py): for every
# golden/CASE.dnn, and models/mlp.dnn and models/lenet5.dnn when torch is
# there to write their goldens,
#   dnnc --inference --quantize=int8 --calibrate CASE.calib.safetensors
#        --embed-weights CASE.weights.safetensors CASE.dnn -o CASE.c
# built with golden_harness.c (the int8 kernels' plain C, and CASE.avx2 their
# AVX2 path on a CPU that has it; clang -fsyntax-only too, every case in
# one run, unless NO_CLANG is set), which prints "PASS quant/CASE GROUP" or "FAIL quant/CASE GROUP: why"
# for: compile (dnnc and cc), clang, forward (every
# output within one quantization step of PyTorch's), weights (NAME_save's
# int8 weights, int32 biases, float weight scales equal to PyTorch's, bit for
# bit), qparams (the activations' scales and zero points). Then two
# calibration sets dnnc must refuse (exit 1, naming the input, no output),
# the two-command flow on Fashion-MNIST (flow: train, calibrate, quantize;
# int8 within a point of float), and, with torch, the committed goldens
# re-derived byte for byte.
# Usage: sh tests/quant/golden.sh [CASE ...]   DNNC=TREE/build/dnnc tries
# another tree's dnnc, with TREE's runtime/ and build/libdnnrt.a.
cd "$(dirname "$0")/../.." || exit 2
. tests/reference_blas.sh # torch as the goldens were derived, whatever BLAS is installed
q=tests/quant
DNNC=${DNNC:-build/dnnc}
tree=$(dirname "$(dirname "$DNNC")")
CC=${CC:-cc}
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT

pass() { echo "PASS quant/$1"; }
fail() { echo "FAIL quant/$1: $2"; }
first_error() { grep -m1 'error' "$1" || head -n1 "$1"; }

torch=0
/usr/bin/python3 -c "$HAS_MODULE" torch 2>/dev/null && torch=1
cases=$* clang_files=
[ -n "$cases" ] || cases="$(cd $q/golden && ls -- *.dnn | sed 's/\.dnn$//') mlp lenet5"

# check VARIANT CFLAGS...: $c built with golden_harness.c and CFLAGS (the
# kernels' plain C path, or with -mavx2 their AVX2 one) and run, its lines
# named quant/$c$VARIANT; false when it does not compile
check() {
    v=$1; shift
    if ! $CC -std=c99 "$@" -Wall -Wextra -Wpedantic -Werror -I"$tree/runtime" -I"$t" -DMODEL="$c" \
            -include "$t/$c.h" $q/golden_harness.c "$t/$c.c" "$tree/build/libdnnrt.a" -lm -o "$t/$c$v" >"$t/$c.err" 2>&1; then
        fail "$c$v compile" "$CC: $(first_error "$t/$c.err")"
        return 1
    fi
    [ -n "$v" ] || pass "$c compile"
    timeout 120 "$t/$c$v" "$data/$c.golden.safetensors" >"$t/$c.out"
    rc=$?
    sed "s#^\([A-Z]*\) quant/$c #\1 quant/$c$v #" "$t/$c.out"
    [ $rc -le 1 ] || fail "$c$v" "the harness crashed (exit $rc)"
}

for c in $cases; do
    data=$q/golden/data dnn=$q/golden/$c.dnn
    if [ "$c" = mlp ] || [ "$c" = lenet5 ]; then
        data=$t dnn=models/$c.dnn
        if [ $torch = 0 ]; then
            echo "SKIP quant/$c: /usr/bin/python3 has no torch to write its golden (python3-torch)"
            continue
        fi
        if ! /usr/bin/python3 $q/make_golden.py --out "$t" "$c" >"$t/$c.err" 2>&1; then
            fail "$c golden" "make_golden.py: $(tail -1 "$t/$c.err")"
            continue
        fi
    fi
    if [ ! -e "$dnn" ] || [ ! -e "$data/$c.golden.safetensors" ]; then
        fail "$c" "no such case ($dnn, $data/$c.golden.safetensors)"
        continue
    fi
    if ! timeout 120 "$DNNC" --inference --quantize=int8 --calibrate "$data/$c.calib.safetensors" \
            --embed-weights "$data/$c.weights.safetensors" "$dnn" -o "$t/$c.c" >"$t/$c.err" 2>&1; then
        fail "$c compile" "$(first_error "$t/$c.err")"
        continue
    fi
    check "" -O2
    grep -q ' avx2' /proc/cpuinfo 2>/dev/null && check .avx2 -O2 -mavx2 -mfma
    clang_files="$clang_files $t/$c.c"
done
# every case's C under clang too, in one run (tests/clang_check.sh)
. tests/clang_check.sh
# shellcheck disable=SC2086 # a list of files
CLANG_RUNTIME=$tree/runtime clang_check quant $clang_files

# calibration sets dnnc must refuse: exit 1, an error naming the input, no file written
refuse() {
    name=$1 why=$2
    rm -f "$t/bad.c" "$t/bad.h"
    "$DNNC" --inference --quantize=int8 --calibrate $q/golden/data/$name.calib.safetensors \
        --embed-weights $q/golden/data/linear.weights.safetensors $q/golden/linear.dnn -o "$t/bad.c" >"$t/bad.err" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q "error.*'x'" "$t/bad.err" && [ ! -e "$t/bad.c" ] && [ ! -e "$t/bad.h" ]; then
        pass "calibrate.$name"
    else
        fail "calibrate.$name" "$why: want exit 1, an error naming 'x' and no output; got exit $rc, $(first_error "$t/bad.err")$(ls "$t"/bad.c "$t"/bad.h 2>/dev/null | sed 's/^/, wrote /')"
    fi
}
# the two-command flow of docs/training.md on Fashion-MNIST: a briefly trained
# MLP, `mlp calibrate` on 500 training images, the float and the int8 build
# of its weights (bench/int8/eval.c): int8 within a point of float on the
# 10,000 test images
flow() {
    fashion=/usr/share/datasets/fashion-mnist
    if [ ! -e $fashion/t10k-images-idx3-ubyte.gz ]; then
        echo "SKIP quant/flow: dataset-fashion-mnist is not installed"
        return
    fi
    f=$t/flow && mkdir "$f"
    gunzip -c $fashion/t10k-images-idx3-ubyte.gz >"$f/images" && gunzip -c $fashion/t10k-labels-idx1-ubyte.gz >"$f/labels"
    for step in program train calibrate dnnc float int8; do
        case $step in
        program) build/dnnc --main models/mlp.dnn -o "$f/mlp.c" &&
                 $CC -std=c99 -O2 -Iruntime "$f/mlp.c" build/libdnnrt.a -lz -lm -o "$f/mlp" ;;
        train) "$f/mlp" train $fashion/train-images-idx3-ubyte.gz $fashion/train-labels-idx1-ubyte.gz --limit 10000 \
                   --epochs 1 --scale 1/255 --save "$f/w.safetensors" -q ;;
        calibrate) "$f/mlp" calibrate $fashion/train-images-idx3-ubyte.gz --weights "$f/w.safetensors" --limit 500 \
                       -o "$f/cal.safetensors" ;;
        dnnc) "$DNNC" --inference --embed-weights "$f/w.safetensors" models/mlp.dnn -o "$f/float.c" &&
              "$DNNC" --inference --quantize=int8 --calibrate "$f/cal.safetensors" \
                  --embed-weights "$f/w.safetensors" models/mlp.dnn -o "$f/int8.c" ;;
        *) $CC -std=c99 -O2 -I"$tree/runtime" -DMODEL=mlp -include "$f/$step.h" bench/int8/eval.c "$f/$step.c" \
               "$tree/build/libdnnrt.a" -lm -o "$f/$step" && "$f/$step" "$f/images" "$f/labels" >"$f/$step.acc" ;;
        esac >"$f/out" 2>&1 || { fail flow "$step: $(first_error "$f/out")"; return; }
    done
    a=$(awk '{print $2}' "$f/float.acc") b=$(awk '{print $2}' "$f/int8.acc")
    if awk -v a="$a" -v b="$b" 'BEGIN { exit !(a > 60 && b - a <= 1 && a - b <= 1) }'; then
        pass "flow (test accuracy $a % float, $b % int8)"
    else
        fail flow "test accuracy $a % float, $b % int8: want int8 within a point of float (> 60 %)"
    fi
}

if [ -z "$*" ]; then
    flow
    refuse bad_name "the calibration set has no tensor named after the input x"
    refuse bad_shape "the calibration set's x is [4, 63], the input x[64]"
    if [ $torch = 1 ]; then
        mkdir "$t/again"
        /usr/bin/python3 $q/make_golden.py --out "$t/again" >"$t/again.err" 2>&1
        bad=""
        for f in $q/golden/data/*.safetensors; do
            cmp -s "$f" "$t/again/$(basename "$f")" || bad="$bad $(basename "$f")"
        done
        if [ -z "$bad" ]; then pass golden.rederived; else fail golden.rederived "make_golden.py writes other bytes:$bad"; fi
    fi
fi
