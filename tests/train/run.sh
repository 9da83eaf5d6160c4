#!/bin/sh
# The training programs of dnnc --main (runtime/train): training on
# CSV, IDX and .npy data, eval with a confusion matrix, predict, gradcheck
# (which must also catch a broken backward pass), golden checks against
# PyTorch's outputs, bit-identical --resume after an interruption (by
# --stop-after and by a real SIGTERM), and clear errors for bad data that
# leave no files behind.
cd "$(dirname "$0")/../.." || exit 2
. tests/reference_blas.sh # the BLAS the references were derived with; $HAS_MODULE
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fashion=/usr/share/datasets/fashion-mnist
iris=examples/iris/iris.csv

pass() { echo "PASS train/$1"; }
fail() { echo "FAIL train/$1: $2"; }
skip() { echo "SKIP train/$1: $2"; }

# build NAME MODEL [CFLAGS...]: the program $tmp/NAME
build() {
    name=$1 model=$2; shift 2
    if build/dnnc --main "$model" -o "$tmp/$name.c" 2>"$tmp/err" &&
       ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime "$@" "$tmp/$name.c" build/libdnnrt.a \
           -lz -lm -o "$tmp/$name" 2>"$tmp/err"; then
        pass "$name.build"
    else
        fail "$name.build" "$(head -3 "$tmp/err")"
    fi
}

# expect_error NAME "MESSAGE" PROGRAM ARGS...: exit 1 and MESSAGE on stderr, no weights written
expect_error() {
    name=$1 want=$2; shift 2
    rm -f "$tmp/bad.safetensors" "$tmp/bad.ckpt"
    "$@" --save "$tmp/bad.safetensors" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -ne 1 ]; then
        fail "$name" "exit $rc, want 1: $(head -2 "$tmp/err")"
    elif ! grep -qF -- "$want" "$tmp/err"; then
        fail "$name" "stderr lacks '$want': $(head -2 "$tmp/err")"
    elif [ -e "$tmp/bad.safetensors" ] || [ -e "$tmp/bad.ckpt" ]; then
        fail "$name" "a weights or checkpoint file was written"
    else
        pass "$name"
    fi
}

# interrupt SIGNAL CKPT CMD...: runs CMD in the background (output to $tmp/out), sends it
# SIGNAL a moment after its first checkpoint CKPT appears; sets $rc to its exit status
interrupt() {
    sig=$1 ck=$2; shift 2
    "$@" >"$tmp/out" 2>&1 &
    pid=$!
    while kill -0 $pid 2>/dev/null && ! [ -e "$ck" ]; do sleep 0.01; done
    sleep 0.2
    kill -"$sig" $pid 2>/dev/null
    wait $pid
    rc=$?
}

build xor models/xor.dnn
build iris models/iris.dnn
build diabetes models/diabetes.dnn
build ema tests/train/ema.dnn

# --help names every command
if "$tmp/iris" --help >"$tmp/out" && grep -q "gradcheck" "$tmp/out" && grep -q "features" "$tmp/out"; then
    pass help
else
    fail help "$(head -2 "$tmp/out")"
fi

# XOR from a CSV: the four predictions within 0.1 of their targets
printf 'x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n' >"$tmp/xor.csv"
if "$tmp/xor" train "$tmp/xor.csv" --save "$tmp/xor.safetensors" --quiet >"$tmp/out" 2>&1 &&
   "$tmp/xor" predict "$tmp/xor.csv" --weights "$tmp/xor.safetensors" >"$tmp/pred" 2>&1 &&
   awk -F, 'NR > 1 { want = (NR == 3 || NR == 4); d = $1 - want; if (d < 0) d = -d; if (d > 0.1) bad = 1 }
            END { exit bad }' "$tmp/pred"; then
    pass "xor.learns"
else
    fail "xor.learns" "$(tr '\n' ' ' <"$tmp/pred" | head -c 200)"
fi

# iris: standardised, 20% validation; the log, the curves and the confusion matrix
if "$tmp/iris" train "$iris" --standardize --save "$tmp/iris.safetensors" --log "$tmp/iris.csv" >"$tmp/out" 2>&1 &&
   "$tmp/iris" eval "$iris" --weights "$tmp/iris.safetensors" --confusion "$tmp/confusion.csv" >"$tmp/eval" 2>&1; then
    acc=$(sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' "$tmp/eval" | head -1)
    if awk "BEGIN { exit !($acc >= 95) }"; then pass "iris.accuracy ($acc%)"; else fail iris.accuracy "$acc%"; fi
    rows=$(wc -l <"$tmp/iris.csv")   # the header, epoch 0 (the initial weights) and 100 epochs
    if [ "$rows" -eq 102 ] && head -1 "$tmp/iris.csv" | grep -q "^epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy" &&
       [ "$(sed -n 2p "$tmp/iris.csv" | cut -d, -f1)" = 0 ]; then
        pass iris.log
    else
        fail iris.log "$rows lines: $(head -1 "$tmp/iris.csv")"
    fi
    if grep -q "<polyline" "$tmp/iris.svg" && tail -c 8 "$tmp/iris.svg" | grep -q "</svg>" &&
       { ! command -v xmllint >/dev/null || xmllint --noout "$tmp/iris.svg"; }; then
        pass iris.svg
    else
        fail iris.svg "no curves in $tmp/iris.svg"
    fi
    if grep -q "recall" "$tmp/eval" && [ "$(wc -l <"$tmp/confusion.csv")" -eq 4 ]; then
        pass iris.confusion
    else
        fail iris.confusion "$(head -3 "$tmp/eval")"
    fi
    # the scaling travels with the weights: eval without --standardize gave the accuracy above;
    # predict labels every flower with a class column
    if "$tmp/iris" predict "$iris" --weights "$tmp/iris.safetensors" --class-names setosa,versicolor,virginica \
           --out "$tmp/pred.csv" && [ "$(wc -l <"$tmp/pred.csv")" -eq 151 ] &&
       head -1 "$tmp/pred.csv" | grep -q "^probs.0,probs.1,probs.2,class$" && grep -q ",virginica$" "$tmp/pred.csv"; then
        pass iris.predict
    else
        fail iris.predict "$(head -2 "$tmp/pred.csv" 2>&1)"
    fi
else
    fail iris.train "$(tail -2 "$tmp/out") $(tail -2 "$tmp/eval" 2>/dev/null)"
fi

# regression with early stopping: stops, and keeps a useful model
if "$tmp/diabetes" train examples/regression/diabetes.csv --standardize --save "$tmp/d.safetensors" >"$tmp/out" 2>&1 &&
   grep -q "^early stop" "$tmp/out" &&
   "$tmp/diabetes" eval examples/regression/diabetes.csv --weights "$tmp/d.safetensors" >"$tmp/eval" 2>&1; then
    loss=$(sed -n 's/.*loss \([0-9.]*\).*/\1/p' "$tmp/eval")
    if awk "BEGIN { exit !($loss < 3500) }"; then pass "regression.early_stop (mse $loss)"; else fail regression "mse $loss"; fi
else
    fail regression "$(tail -2 "$tmp/out")"
fi

# --resume after --stop-after: bit-identical weights and the same log, with
# dropout masks, batchnorm, the weight average, clipping and early stopping
if "$tmp/ema" train "$iris" --standardize --save "$tmp/e1.safetensors" --quiet >/dev/null 2>&1 &&
   "$tmp/ema" train "$iris" --standardize --save "$tmp/e2.safetensors" --quiet --stop-after 37 >"$tmp/out" 2>&1
   [ $? -eq 130 ] && [ ! -e "$tmp/e2.safetensors" ] &&
   "$tmp/ema" train "$iris" --standardize --save "$tmp/e2.safetensors" --quiet --resume "$tmp/e2.ckpt" >/dev/null 2>&1 &&
   cmp -s "$tmp/e1.safetensors" "$tmp/e2.safetensors" &&
   [ "$(cut -d, -f1-6 "$tmp/e1.log.csv")" = "$(cut -d, -f1-6 "$tmp/e2.log.csv")" ]; then
    pass resume.bit_identical
else
    fail resume.bit_identical "$(tail -1 "$tmp/out")"
fi

# ^C (a real SIGINT) during training: exit 130 after a final checkpoint; no temporary
# file is left, the log and the plot are whole, and --resume ends bit-identical
mkdir -p "$tmp/int"
"$tmp/xor" train "$tmp/xor.csv" --epochs 400 --quiet --save "$tmp/int/a.safetensors" >/dev/null 2>&1
interrupt INT "$tmp/int/b.ckpt" "$tmp/xor" train "$tmp/xor.csv" --epochs 400 --quiet --save "$tmp/int/b.safetensors"
if [ $rc -eq 0 ]; then
    skip resume.sigint "training ended before the signal; the machine is fast"
elif [ $rc -eq 130 ] && grep -q "^interrupted after epoch [0-9]*: checkpoint" "$tmp/out" &&
     [ ! -e "$tmp/int/b.safetensors" ] && ! ls "$tmp/int" | grep -q tmp &&
     tail -c 7 "$tmp/int/b.svg" | grep -q '</svg>' &&
     awk -F, 'NF != 7 { bad = 1 } END { exit bad }' "$tmp/int/b.log.csv" &&
     "$tmp/xor" train "$tmp/xor.csv" --epochs 400 --quiet --save "$tmp/int/b.safetensors" \
         --resume "$tmp/int/b.ckpt" >/dev/null 2>&1 &&
     cmp -s "$tmp/int/a.safetensors" "$tmp/int/b.safetensors" &&
     [ "$(cut -d, -f1-6 "$tmp/int/a.log.csv")" = "$(cut -d, -f1-6 "$tmp/int/b.log.csv")" ]; then
    pass "resume.sigint ($(sed -n 's/^interrupted after \(epoch [0-9]*\).*/\1/p' "$tmp/out"))"
else
    fail resume.sigint "exit $rc: $(tail -1 "$tmp/out"); files: $(ls "$tmp/int" | tr '\n' ' ')"
fi

# a write that fails half-way (past `ulimit -f`): exit 3 naming the file, no temporary file left
mkdir -p "$tmp/full"
( ulimit -f 1; exec "$tmp/xor" train "$tmp/xor.csv" --epochs 3 --quiet --save "$tmp/full/w.safetensors" ) \
    >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -eq 3 ] && grep -q "cannot write: File too large" "$tmp/err" && ! ls "$tmp/full" | grep -q tmp; then
    pass write_error_leaves_no_temporary
else
    fail write_error_leaves_no_temporary "exit $rc: $(head -n 1 "$tmp/err"); files: $(ls "$tmp/full" | tr '\n' ' ')"
fi

# gradcheck passes on the real models, and catches a broken backward pass
if "$tmp/iris" gradcheck "$iris" --standardize >"$tmp/out" 2>&1 && grep -q ": ok" "$tmp/out"; then
    pass gradcheck.iris
else
    fail gradcheck.iris "$(tail -1 "$tmp/out")"
fi
if "$tmp/ema" gradcheck "$iris" >"$tmp/out" 2>&1; then
    pass gradcheck.dropout_batchnorm
else
    fail gradcheck.dropout_batchnorm "$(tail -1 "$tmp/out")"
fi
sed 's/= y <= 0.0f ? 0.0f : g;/= g;/' "$tmp/iris.c" >"$tmp/broken.c"
if cmp -s "$tmp/iris.c" "$tmp/broken.c"; then
    fail gradcheck.catches_bug "the relu gradient to break was not found"
elif ${CC:-cc} -std=c99 -O2 -Iruntime "$tmp/broken.c" build/libdnnrt.a -lz -lm -o "$tmp/broken" &&
     ! "$tmp/broken" gradcheck "$iris" --standardize >"$tmp/out" 2>&1 && grep -q "FAILED" "$tmp/out"; then
    pass gradcheck.catches_bug
else
    fail gradcheck.catches_bug "a relu backward without its mask passed: $(tail -1 "$tmp/out")"
fi

# check: PyTorch's outputs stored by the golden suite
for case in iris conv_basic; do
    build "golden_$case" "tests/golden/cases/$case.dnn"
    g=tests/golden/data/$case
    if "$tmp/golden_$case" check --weights "$g.weights.safetensors" --golden "$g.golden.safetensors" >"$tmp/out" 2>&1; then
        pass "check.$case: $(head -1 "$tmp/out")"
    else
        fail "check.$case" "$(head -2 "$tmp/out")"
    fi
done
# ... and a mismatch fails: the same outputs against one epoch's training away
"$tmp/golden_iris" train "$iris" --weights tests/golden/data/iris.weights.safetensors --epochs 1 --quiet \
    --save "$tmp/moved.safetensors" >/dev/null 2>&1
if ! "$tmp/golden_iris" check --weights "$tmp/moved.safetensors" --golden tests/golden/data/iris.golden.safetensors \
       >"$tmp/out" 2>&1 && grep -q FAILED "$tmp/out"; then
    pass check.mismatch
else
    fail check.mismatch "$(head -2 "$tmp/out")"
fi

# --emit=selftest: the same golden file baked into iris_selftest(), on the host; it fails with other weights
cat >"$tmp/st_main.c" <<'EOF2'
#include <stdio.h>
#include "st.h"
static iris_model m;
int main(void) {
    float worst;
    iris_init(&m, 1);
    int bad = iris_selftest(&m, &worst);
    printf("%d values off, worst error %g\n", bad, worst);
    return bad != 0;
}
EOF2
selftest() { # selftest WEIGHTS: builds and runs the self-test program
    build/dnnc --emit=selftest --weights "$1" --golden tests/golden/data/iris.golden.safetensors \
        tests/golden/cases/iris.dnn -o "$tmp/st.c" 2>"$tmp/err" &&
    ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$tmp" "$tmp/st.c" "$tmp/st_main.c" \
        build/libdnnrt.a -lm -o "$tmp/st" 2>>"$tmp/err" && "$tmp/st" >"$tmp/out" 2>&1
}
if selftest tests/golden/data/iris.weights.safetensors; then
    pass "selftest ($(cat "$tmp/out"))"
else
    fail selftest "$(head -2 "$tmp/err") $(cat "$tmp/out")"
fi
if ! selftest "$tmp/moved.safetensors" && grep -q "values off" "$tmp/out" && ! grep -q "^0 values" "$tmp/out"; then
    pass selftest.mismatch
else
    fail selftest.mismatch "$(cat "$tmp/out")"
fi
if ! build/dnnc --emit=selftest --golden tests/golden/data/iris.weights.safetensors tests/golden/cases/iris.dnn \
       -o "$tmp/st2.c" 2>"$tmp/err" && grep -q "'x' must be an F32 tensor .* (it is missing)" "$tmp/err" &&
   [ ! -e "$tmp/st2.c" ]; then
    pass selftest.bad_golden
else
    fail selftest.bad_golden "$(head -1 "$tmp/err")"
fi

# --check-finite: the generated code names the first layer whose result held a NaN or an
# infinity (NAME_model's nonfinite, sticky until cleared), and the training program stops there
cat >"$tmp/lg.dnn" <<'EOF2'
model lg {
    input  x[2];
    target y[1];
    h   = log(dense(x, 3));
    out = dense(h, 1);
    output out;
    loss   mse(out, y);
    train { optimizer sgd(lr = 0.1); batch 4; epochs 3; seed 1; }
}
EOF2
if build/dnnc --main --check-finite "$tmp/lg.dnn" -o "$tmp/lg.c" 2>"$tmp/err" &&
   ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime "$tmp/lg.c" build/libdnnrt.a -lz -lm \
       -o "$tmp/lg" 2>"$tmp/err"; then
    expect_error check_finite.program "a NaN or infinity first appeared in h (log, line 4), in epoch 1, batch 1" \
        "$tmp/lg" train "$tmp/xor.csv"
else
    fail check_finite.program "$(head -2 "$tmp/err")"
fi
cat >"$tmp/cf_main.c" <<'EOF2'
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cf.h"
static xor_model m;
static const char *said(void) { return m.nonfinite ? m.nonfinite : "(null)"; }
int main(void) {
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0}, out[4], big[4] = {1e38f, 0, 0, 0};
    int bad = 0;
    xor_init(&m, 1);
    xor_forward(&m, x, out, 4);
    xor_train_step(&m, x, y, 4);
    bad |= m.nonfinite != NULL;                       /* clean data: nothing */
    printf("clean: %s\n", said());
    x[3] = NAN;
    xor_forward(&m, x, out, 4);
    bad |= !m.nonfinite || strcmp(m.nonfinite, "h (dense, line 6)");
    printf("NaN input: %s\n", said());
    x[3] = 1;
    xor_forward(&m, x, out, 4);                       /* sticky: still the first */
    bad |= !m.nonfinite || strcmp(m.nonfinite, "h (dense, line 6)");
    m.nonfinite = NULL;
    xor_backward(&m, x, big, 4);                      /* (out - 1e38)^2 overflows */
    bad |= !m.nonfinite || strcmp(m.nonfinite, "loss (mse, line 10)");
    printf("huge target: %s\n", said());
    return bad;
}
EOF2
if build/dnnc --check-finite models/xor.dnn -o "$tmp/cf.c" 2>"$tmp/err" &&
   ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$tmp" "$tmp/cf.c" "$tmp/cf_main.c" \
       build/libdnnrt.a -lm -o "$tmp/cf" 2>"$tmp/err" && "$tmp/cf" >"$tmp/out" 2>&1 &&
   build/dnnc models/xor.dnn -o "$tmp/plain.c" && ! grep -q nonfinite "$tmp/plain.c" "$tmp/plain.h"; then
    pass "check_finite.api ($(tr '\n' ';' <"$tmp/out"))"
else
    fail check_finite.api "$(head -2 "$tmp/err") $(tr '\n' ';' <"$tmp/out" 2>/dev/null)"
fi

# bad data: a clear error naming the place, exit 1, nothing written
printf 'a,b,c,d,s\n1,2,3,4,0\n1,2,3,0\n' >"$tmp/short.csv"
expect_error data.bad_row "short.csv:3: 4 fields, expected 5" "$tmp/iris" train "$tmp/short.csv"
printf '1,2,3,4,0\n1,2,nan,4,1\n' >"$tmp/nan.csv"
expect_error data.nan "nan.csv:2" "$tmp/iris" train "$tmp/nan.csv"
printf '1,2,3,4,0\n1,2,3,4,7\n' >"$tmp/label.csv"
expect_error data.label_range "label.csv:2: label 7 is not a class of 'species' (0..2)" "$tmp/iris" train "$tmp/label.csv"
expect_error data.missing "missing.csv" "$tmp/iris" train "$tmp/missing.csv"
printf '1,2,3\n' >"$tmp/narrow.csv"
expect_error data.too_few_columns "narrow.csv: 3 columns left, but 'features' needs 4" "$tmp/iris" train "$tmp/narrow.csv"
"$tmp/xor" predict "$tmp/xor.csv" --weights "$tmp/xor.safetensors" --out "$tmp/one.npy" >/dev/null 2>&1
expect_error data.npy_shape "one.npy holds 1 value per sample, but 'features' takes 4" "$tmp/iris" train "$tmp/one.npy"
printf '1,2,3,4\n5,6,7,8\n' >"$tmp/two.csv"
printf '0\n1\n2\n' >"$tmp/three.csv"
expect_error data.counts "three.csv: 3 samples, but features has 2" "$tmp/iris" train "$tmp/two.csv" "$tmp/three.csv"

# Fashion-MNIST from IDX files, and PyTorch reading the weights
if [ ! -e $fashion/train-images-idx3-ubyte.gz ]; then
    skip fashion "dataset-fashion-mnist is not installed"
else
    build mlp models/mlp.dnn
    "$tmp/mlp" train $fashion/train-images-idx3-ubyte.gz $fashion/train-labels-idx1-ubyte.gz --scale 1/255 \
        --limit 3000 --epochs 1 --save "$tmp/mlp.safetensors" --quiet >"$tmp/out" 2>&1
    "$tmp/mlp" eval $fashion/t10k-images-idx3-ubyte.gz $fashion/t10k-labels-idx1-ubyte.gz --weights "$tmp/mlp.safetensors" \
        --limit 2000 >"$tmp/eval" 2>&1
    acc=$(sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' "$tmp/eval" | head -1)
    if [ -n "$acc" ] && awk "BEGIN { exit !($acc >= 50) }"; then pass "fashion.idx ($acc%)"; else fail fashion.idx "$(tail -2 "$tmp/out")"; fi
    if ! /usr/bin/python3 -c "$HAS_MODULE" torch 2>/dev/null; then
        skip fashion.pytorch_reads_weights "python3-torch is not installed"
    else
        torch=$(/usr/bin/python3 examples/fashion/reference.py mlp -t 2000 --weights "$tmp/mlp.safetensors" 2>&1 |
                sed -n 's/test accuracy: \([0-9.]*\)%.*/\1/p')
        if [ "$torch" = "$acc" ]; then
            pass "fashion.pytorch_reads_weights ($torch%)"
        else
            fail fashion.pytorch_reads_weights "PyTorch $torch%, dnnc $acc%"
        fi
    fi
    # a real SIGTERM in the middle of training: exit 130 with a checkpoint; the resumed run is bit-identical
    args="$fashion/train-images-idx3-ubyte.gz $fashion/train-labels-idx1-ubyte.gz --scale 1/255 --limit 20000 --epochs 2 --quiet"
    "$tmp/mlp" train $args --save "$tmp/s1.safetensors" >/dev/null 2>&1
    interrupt TERM "$tmp/s2.ckpt" "$tmp/mlp" train $args --save "$tmp/s2.safetensors"
    if [ $rc -ne 130 ]; then
        skip resume.sigterm "training ended (exit $rc) before the signal; the machine is fast"
    elif "$tmp/mlp" train $args --save "$tmp/s2.safetensors" --resume "$tmp/s2.ckpt" >/dev/null 2>&1 &&
         cmp -s "$tmp/s1.safetensors" "$tmp/s2.safetensors"; then
        pass "resume.sigterm ($(grep -o 'epoch [0-9]*, batch [0-9]*' "$tmp/out"))"
    else
        fail resume.sigterm "the resumed weights differ"
    fi
fi

# the driver under AddressSanitizer and UBSan: training, resume, every command, bad input
S="-fsanitize=address,undefined -fno-omit-frame-pointer -g1 -D_POSIX_C_SOURCE=200809L"
if ! make -s build/asan/libdnnrt.a >"$tmp/err" 2>&1 ||   # the runtime under the sanitizers, built once
   ! ${CC:-cc} -std=c99 -O1 $S -Iruntime "$tmp/ema.c" build/asan/libdnnrt.a -lz -lm -o "$tmp/ema_asan" 2>>"$tmp/err"; then
    skip sanitizers "cannot build with -fsanitize: $(head -1 "$tmp/err")"
else
    bad=""
    for args in "train $iris --standardize --save $tmp/a.safetensors --quiet --stop-after 20" \
                "train $iris --standardize --save $tmp/a.safetensors --quiet --resume $tmp/a.ckpt" \
                "eval $iris --weights $tmp/a.safetensors --confusion $tmp/c.csv" \
                "predict $iris --weights $tmp/a.safetensors --out $tmp/p.npy" "gradcheck $iris" \
                "train $tmp/short.csv" "train $tmp/nan.csv" "train $iris --val $tmp/label.csv" "train $tmp/missing.csv" \
                "eval $iris" "predict $iris" "check --weights $tmp/a.safetensors --golden $tmp/a.safetensors" "bogus" \
                "train $iris --epochs x"; do
        UBSAN_OPTIONS=halt_on_error=1 "$tmp/ema_asan" $args >/dev/null 2>"$tmp/err"
        rc=$?
        if [ $rc -gt 3 ] && [ $rc -ne 130 ] || grep -q "Sanitizer\|runtime error" "$tmp/err"; then
            bad="$bad [$args: exit $rc $(grep -m1 'ERROR\|runtime error' "$tmp/err")]"
        fi
    done
    if [ -z "$bad" ]; then pass sanitizers; else fail sanitizers "$bad"; fi
fi
