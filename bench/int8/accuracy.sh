#!/bin/sh
# bench/int8/accuracy.sh — what int8 post-training quantization costs in
# accuracy: models/mlp.dnn and models/lenet5.dnn trained on Fashion-MNIST
# by their training programs (or their weights reused), calibrated on 1,000
# training images (`NAME calibrate`), compiled twice from the same weights —
# `dnnc --inference` and `dnnc --inference --quantize=int8` — and both
# evaluated on the 10,000 test images (eval.c). Prints, per model, the two
# test accuracies and their difference (the issue's goal: within 0.5 points).
# Not part of make check: training takes minutes.
#
# Environment: MODELS ("mlp lenet5"), DATA (Debian's Fashion-MNIST directory),
# EPOCHS_mlp (5), EPOCHS_lenet5 (3): the training's epochs; WEIGHTS_mlp,
# WEIGHTS_lenet5: a weights file to use instead of training (a `train`
# --save of the same .dnn, with --scale 1/255); CALIB (1000): calibration
# images; DNNC (build/dnnc; TREE/build/dnnc uses TREE's runtime too); CC (cc).
# Everything goes to build/bench/int8/; weights trained once are reused
# while they are newer than their .dnn (delete them to retrain).
set -eu
cd "$(dirname "$0")/../.."
DNNC=${DNNC:-build/dnnc}
tree=$(cd "$(dirname "$(dirname "$DNNC")")" && pwd)
data=${DATA:-/usr/share/datasets/fashion-mnist}
out=build/bench/int8
cc=${CC:-cc}
cflags="-std=c99 -O2 -Wall -Wextra -Wpedantic -Werror"

say() { echo "accuracy: $*" >&2; }
fail() { say "$*"; exit 1; }

[ -x "$DNNC" ] && [ -f "$tree/build/libdnnrt.a" ] || fail "$DNNC or $tree/build/libdnnrt.a missing: run make first"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -f "$data/$f" ] || fail "$data/$f missing: apt-get install dataset-fashion-mnist (or set DATA)"
done
mkdir -p $out
gunzip -c "$data/t10k-images-idx3-ubyte.gz" >$out/test-images
gunzip -c "$data/t10k-labels-idx1-ubyte.gz" >$out/test-labels

# build NAME C-FILE: the eval program of a generated --inference model
build() {
    $cc $cflags -I"$tree/runtime" -I$out -DMODEL="$1" -include "${2%.c}.h" bench/int8/eval.c "$2" \
        "$tree/build/libdnnrt.a" -lm -o "${2%.c}" || fail "cannot compile $2"
}

printf '%-8s %8s %8s %8s   %s\n' model float int8 change "(test accuracy, %; goal: |change| <= 0.5)"
status=0
for model in ${MODELS:-mlp lenet5}; do
    dnn=models/$model.dnn
    eval "weights=\${WEIGHTS_$model:-}"
    eval "epochs=\${EPOCHS_$model:-}"
    [ -n "$epochs" ] || { [ $model = lenet5 ] && epochs=3 || epochs=5; }
    prog=$(sh examples/program.sh $dnn $out)
    if [ -z "$weights" ]; then
        weights=$out/$model.safetensors
        if [ ! -f "$weights" ] || [ -n "$(find "$dnn" -newer "$weights")" ]; then
            say "training $model ($epochs epochs, 60,000 images)"
            $prog train "$data/train-images-idx3-ubyte.gz" "$data/train-labels-idx1-ubyte.gz" --scale 1/255 \
                --epochs "$epochs" --save "$weights" -q >$out/$model.train.log 2>&1 ||
                fail "training $model failed: $(tail -1 $out/$model.train.log)"
        else
            say "reusing $weights"
        fi
    fi
    # the calibration set: the first CALIB training images, preprocessed as the weights say (--scale 1/255)
    $prog calibrate "$data/train-images-idx3-ubyte.gz" --weights "$weights" --limit "${CALIB:-1000}" \
        -o $out/$model.cal.safetensors >/dev/null || fail "$model calibrate failed"
    "$DNNC" --inference --embed-weights "$weights" $dnn -o $out/${model}_f32.c || fail "dnnc (float) failed"
    "$DNNC" --inference --quantize=int8 --calibrate $out/$model.cal.safetensors --embed-weights "$weights" $dnn \
        -o $out/${model}_int8.c || fail "dnnc --quantize=int8 failed"
    build $model $out/${model}_f32.c
    build $model $out/${model}_int8.c
    f=$($out/${model}_f32 $out/test-images $out/test-labels | awk '{print $2}')
    q=$($out/${model}_int8 $out/test-images $out/test-labels | awk '{print $2}')
    d=$(awk -v f="$f" -v q="$q" 'BEGIN { printf "%+.2f", q - f }')
    printf '%-8s %8s %8s %8s\n' $model "$f" "$q" "$d"
    awk -v d="$d" 'BEGIN { exit !(d <= 0.5 && d >= -0.5) }' || status=1
done
exit $status
