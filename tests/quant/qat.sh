#!/bin/sh
# tests/quant/qat.sh — quantization-aware training (`quantize int8;` in the
# train block) against PyTorch 1.13's QAT of the same model (qat_golden.py):
# for every qat/CASE.dnn, dnnc's training C (cc with -Werror, and clang
# -fsyntax-only unless NO_CLANG is set) run by qat_harness.c: 20 training
# steps' losses, eval outputs and every parameter and observer buffer within
# 1e-4 relative of PyTorch's, and the observers saved and resumed with the
# checkpoint; then `dnnc --inference --quantize=int8 --from-qat` of the
# trained twin's weights against PyTorch's convert of it with
# golden_harness.c (convert: int8 weights, int32 biases, scales and zero
# points bit for bit), and of the weights dnnc's training saved (flow: every
# output within one quantization step). Then what dnnc must refuse (exit 1,
# a clear error) and, with torch, the committed goldens re-derived byte for
# byte.
# Prints "PASS quant/qat..." or "FAIL quant/qat...: why" lines.
# Usage: sh tests/quant/qat.sh [CASE ...]
cd "$(dirname "$0")/../.." || exit 2
. tests/reference_blas.sh # torch as the goldens were derived, whatever BLAS is installed
q=tests/quant
DNNC=${DNNC:-build/dnnc}
CC=${CC:-cc}
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT

pass() { echo "PASS quant/qat.$1"; }
fail() { echo "FAIL quant/qat.$1: $2"; }
first_error() { grep -m1 'error' "$1" || head -n1 "$1"; }

cases=$*
[ -n "$cases" ] || cases=$(cd $q/qat && ls -- *.dnn | sed 's/\.dnn$//')
for c in $cases; do
    data=$q/qat/data
    if ! "$DNNC" $q/qat/$c.dnn -o "$t/$c.c" >"$t/$c.err" 2>&1; then
        fail "$c compile" "$(first_error "$t/$c.err")"
        continue
    fi
    if command -v clang >/dev/null && [ -z "${NO_CLANG:-}" ] &&
        ! clang -std=c99 -fsyntax-only -Wall -Wextra -Wpedantic -Werror -Iruntime "$t/$c.c" >"$t/$c.err" 2>&1; then
        fail "$c compile" "clang: $(first_error "$t/$c.err")"
        continue
    fi
    if ! $CC -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$t" -DMODEL="$c" \
            -DMODEL_UC="$(echo "$c" | tr a-z A-Z)" -include "$t/$c.h" $q/qat_harness.c "$t/$c.c" build/libdnnrt.a \
            -lm -o "$t/$c" >"$t/$c.err" 2>&1; then
        fail "$c compile" "$CC: $(first_error "$t/$c.err")"
        continue
    fi
    pass "$c compile"
    timeout 120 "$t/$c" $data/$c.golden.safetensors $data/$c.weights.safetensors "$t/$c.trained.safetensors"
    rc=$?
    [ $rc -le 1 ] || fail "$c" "the harness crashed (exit $rc)"
    # --from-qat: the trained twin's weights give PyTorch's convert bit for bit (convert), and the
    # weights dnnc's own training saved an int8 model within one step of it (flow)
    for v in convert flow; do
        w=$data/$c.trained.safetensors
        [ $v = convert ] || w=$t/$c.trained.safetensors
        if ! "$DNNC" --inference --quantize=int8 --from-qat "$w" $q/qat/$c.dnn -o "$t/$c.$v.c" >"$t/$c.err" 2>&1 ||
            ! $CC -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$t" -DMODEL="$c" -include "$t/$c.$v.h" \
                $q/golden_harness.c "$t/$c.$v.c" build/libdnnrt.a -lm -o "$t/$c.$v" >>"$t/$c.err" 2>&1; then
            fail "$c.$v compile" "$(first_error "$t/$c.err")"
            continue
        fi
        timeout 120 "$t/$c.$v" $data/$c.convert.safetensors >"$t/$c.out"
        rc=$?
        [ $rc -le 1 ] || fail "$c.$v" "the harness crashed (exit $rc)"
        if [ $v = convert ]; then
            sed "s#^\([A-Z]*\) quant/$c #\1 quant/qat.$c.convert #" "$t/$c.out"
        else
            grep " quant/$c forward" "$t/$c.out" | sed "s#^\([A-Z]*\) quant/$c #\1 quant/qat.$c.flow #"
        fi
    done
done

# the training program (dnnc --main) of qat/mlp.dnn on 96 samples of its own: gradcheck passes (the
# double twin; the float model's STE gradient is not a derivative), training 2 epochs and resuming
# to 4 gives the bytes of 4 epochs in one run (the observers are in the checkpoint), and --from-qat
# builds the int8 model from what it saved
program() {
    p=$t/program && mkdir -p "$p"
    awk 'BEGIN { srand(3); printf "label"; for (j = 0; j < 16; j++) printf ",x.%d", j; print "";
                 for (i = 0; i < 96; i++) { printf "%d", i % 4
                     for (j = 0; j < 16; j++) printf ",%.4f", (rand() - 0.5) * 3 + (j % 4 == i % 4); print "" } }' >"$p/d.csv"
    for step in build gradcheck train resume same int8; do
        case $step in
        build) "$DNNC" --main $q/qat/mlp.dnn -o "$p/mlp.c" && $CC -std=c99 -O2 -Iruntime "$p/mlp.c" build/libdnnrt.a \
                   -lz -lm -o "$p/mlp" ;;
        gradcheck) "$p/mlp" gradcheck "$p/d.csv" | grep -q '^gradcheck of mlp: ok' ;;
        train) "$p/mlp" train "$p/d.csv" --epochs 4 --save "$p/a.safetensors" -q &&
               "$p/mlp" train "$p/d.csv" --epochs 2 --save "$p/b.safetensors" -q ;;
        resume) "$p/mlp" train "$p/d.csv" --epochs 4 --resume "$p/b.ckpt" -q ;;
        same) cmp "$p/a.safetensors" "$p/b.safetensors" ;;
        int8) "$DNNC" --inference --quantize=int8 --from-qat "$p/a.safetensors" $q/qat/mlp.dnn -o "$p/mlp8.c" &&
              $CC -std=c99 -Wall -Wextra -Wpedantic -Werror -Iruntime -c "$p/mlp8.c" -o "$p/mlp8.o" ;;
        esac >"$p/out" 2>&1 || { fail "program.$step" "$(tail -n 1 "$p/out")"; return; }
    done
    pass "program (gradcheck, resume gives the same bytes, --from-qat of its weights)"
}

# refuse NAME WANT TEXT: a .dnn dnnc must reject with exit 1 and an error matching WANT
refuse() {
    printf '%s\n' "$3" >"$t/$1.dnn"
    "$DNNC" "$t/$1.dnn" -o "$t/$1.c" >"$t/$1.err" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q "error: $2" "$t/$1.err" && [ ! -e "$t/$1.c" ]; then
        pass "refuse.$1"
    else
        fail "refuse.$1" "want exit 1 and 'error: $2'; got exit $rc, $(first_error "$t/$1.err")"
    fi
}
if [ -z "$*" ]; then
    program
    head='model m { input x[1, 6, 6]; target label : class(3);'
    refuse batchnorm "quantize int8: a batchnorm trains with quantization only right after a conv2d" \
        "$head c = conv2d(x, 2, 3); h = batchnorm(relu(c)); output y = dense(flatten(h), 3);
         loss cross_entropy(y, label); train { quantize int8; } }"
    refuse float_then_dense "quantize int8: this dense reads a float value (sigmoid has no int8 form)" \
        "$head h = sigmoid(dense(flatten(x), 4)); output y = dense(h, 3);
         loss cross_entropy(y, label); train { quantize int8; } }"
    refuse int4 "'quantize' takes int8" \
        "$head output y = dense(flatten(x), 3); loss cross_entropy(y, label); train { quantize int4; } }"
    # --from-qat with float weights (no observers), and on a model trained without quantize int8
    l=$q/golden/linear
    sed 's/^}$/    train { quantize int8; }\n}/' $l.dnn >"$t/linear_qat.dnn"
    for v in no_observers no_qat; do
        dnn=$t/linear_qat.dnn want="no observer 'x.activation_post_process.min_val'"
        [ $v = no_qat ] && dnn=$l.dnn want="model 'linear' does not train with 'quantize int8;'"
        "$DNNC" --inference --quantize=int8 --from-qat $q/golden/data/linear.weights.safetensors "$dnn" \
            -o "$t/$v.c" >"$t/$v.err" 2>&1
        rc=$?
        if [ $rc -eq 1 ] && grep -q "error: .*$want" "$t/$v.err" && [ ! -e "$t/$v.c" ]; then
            pass "refuse.from_qat_$v"
        else
            fail "refuse.from_qat_$v" "want exit 1 and an error saying \"$want\"; got exit $rc, $(first_error "$t/$v.err")"
        fi
    done
    if /usr/bin/python3 -c "$HAS_MODULE" torch 2>/dev/null; then
        /usr/bin/python3 $q/qat_golden.py --out "$t/again" >"$t/again.err" 2>&1
        bad=""
        for f in $q/qat/data/*.safetensors; do
            cmp -s "$f" "$t/again/$(basename "$f")" || bad="$bad $(basename "$f")"
        done
        if [ -z "$bad" ]; then pass "goldens (qat_golden.py gives the committed bytes)"
        else fail goldens "qat_golden.py gives other bytes for:$bad ($(tail -1 "$t/again.err"))"; fi
    else
        echo "SKIP quant/qat.goldens: /usr/bin/python3 has no torch (python3-torch)"
    fi
fi
