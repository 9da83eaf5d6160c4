#!/bin/sh
# End-to-end training runs of the examples: XOR must reach loss < 0.01,
# iris at least 95% held-out accuracy (each program's exit status says so);
# examples/augment (Fashion-MNIST with data augmentation, a few hundred
# images) must draw its PNG and reach 55% test accuracy. The perceptron
# example must reach 100% training accuracy from zero weights. Then
# examples/qat (quantization-aware training against post-training
# quantization), examples/babysitting and examples/transfer (below).
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc="${CC:-cc} -std=c99 -O2 -Wall -Wextra -Werror -Iruntime -I$tmp"
run() { # run NAME MODEL PROGRAM ARGS...
    name=$1 model=$2 prog=$3; shift 3
    if ! build/dnnc "$model" -o "$tmp/$name.c" 2>"$tmp/err" ||
       ! $cc "$tmp/$name.c" "$prog" build/libdnnrt.a -lm -o "$tmp/$name" 2>"$tmp/err"; then
        echo "FAIL examples/$name build: $(head -1 "$tmp/err")"; return
    fi
    if "$tmp/$name" "$@" >"$tmp/out" 2>&1; then
        echo "PASS examples/$name trains: $(tail -1 "$tmp/out")"
    else
        echo "FAIL examples/$name trains: $(tail -1 "$tmp/out")"
    fi
}
run xor models/xor.dnn examples/xor/train.c
run iris models/iris.dnn examples/iris/train.c examples/iris/iris.csv

if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    echo "SKIP examples/augment: dataset-fashion-mnist is not installed"
elif sh examples/augment/run.sh --quiet >"$tmp/out" 2>&1 &&
     [ "$(head -c 4 build/examples/augment/augmented.png | tail -c 3)" = PNG ] &&
     acc=$(sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' "$tmp/out") && awk "BEGIN { exit !($acc >= 55) }"; then
    echo "PASS examples/augment trains: $(tail -1 "$tmp/out")"
else
    echo "FAIL examples/augment trains: $(tail -1 "$tmp/out")"
fi
# examples/qat: LeNet-5 in float, quantized after training (PTQ) and fine-tuned with `quantize int8;`
# (QAT, --from-qat) on 3,000 images: QAT int8 above 60 % test accuracy and not a point below PTQ int8
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    echo "SKIP examples/qat: dataset-fashion-mnist is not installed"
elif OUT=$tmp/qat sh examples/qat/run.sh 3000 2 1 >"$tmp/out" 2>&1 &&
     ptq=$(sed -n 's/^ptq *accuracy \([0-9.]*\) .*/\1/p' "$tmp/out") &&
     qat=$(sed -n 's/^qat *accuracy \([0-9.]*\) .*/\1/p' "$tmp/out") &&
     awk "BEGIN { exit !($qat > 60 && $qat >= $ptq - 1) }"; then
    echo "PASS examples/qat: test accuracy $(grep accuracy "$tmp/out" | awk '{ printf "%s%s %s %%", (NR > 1 ? ", " : ""), $1, $3 }')"
else
    echo "FAIL examples/qat: want QAT int8 > 60 % and not a point below PTQ int8; got $(tail -3 "$tmp/out" | tr '\n' ' ')"
fi
# the lecture notes' perceptron (examples/perceptron): from zero weights to 100%
# training accuracy with the perceptron criterion; hinge(margin = 0) stays put
if sh examples/perceptron/run.sh >"$tmp/perceptron" 2>&1 &&
   grep -q '^perceptron on 100 samples: .*accuracy 100.00%' "$tmp/perceptron" &&
   grep '^hinge0 on 100 samples' "$tmp/perceptron" | grep -qv 'accuracy 100'; then
    echo "PASS examples/perceptron trains: $(grep '^perceptron on' "$tmp/perceptron")"
else
    echo "FAIL examples/perceptron trains: $(tail -1 "$tmp/perceptron")"
fi

# The training-program examples that check what they show (babysitting: the
# initial loss near ln 10, regularisation raising it, 20 images overfitted;
# transfer: an autoencoder's encoder loaded into a classifier): each script
# exits 1 when a check fails. They need the Fashion-MNIST files.
for ex in babysitting transfer; do
    if [ ! -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
        echo "SKIP examples/$ex: dataset-fashion-mnist is not installed"
    elif sh examples/$ex/run.sh >"$tmp/out" 2>&1; then
        echo "PASS examples/$ex: $(tail -1 "$tmp/out")"
    else
        echo "FAIL examples/$ex: $(tail -2 "$tmp/out" | tr '\n' ' ')"
    fi
done
