#!/bin/sh
# Training on several threads (--threads N, dnn_set_threads): the MLP,
# LeNet-5 and bnnet (below: conv2d, depthwise and pointwise, each with a
# batchnorm) trained on the first 1,000 Fashion-MNIST images (31 batches
# of 32 and one of 8) with 1, 2 and 3 threads give byte-identical weights
# files and the same eval output, built without vectors (-O2) and with
# them (-O3 -march=native); a bad thread count is a clear error; the
# training code hands its loops to the threads and an --inference build
# does not.
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fashion=/usr/share/datasets/fashion-mnist

# batchnorm after each kind of conv2d, its steps large enough to hand
# their channels over (3 threads: ranges of 2 or 3 of 8 channels, 5 or 6 of 16)
cat >"$tmp/bnnet.dnn" <<'EOF'
model bnnet {
    input  image[1, 28, 28];
    target label : class(10);

    features = image
        |> conv2d(8, kernel = 3, pad = 1) |> batchnorm |> relu |> maxpool(2)
        |> conv2d(8, kernel = 3, pad = 1, groups = 8) |> batchnorm |> relu
        |> conv2d(16, kernel = 1) |> batchnorm |> relu |> avgpool(2);
    classifier = features |> flatten |> dense(10);

    output probs = softmax(classifier);
    loss   cross_entropy(classifier, label);

    train {
        optimizer adam(lr = 1e-3);
        batch 32;
        epochs 1;
    }
}
EOF

pass() { echo "PASS program/threads.$1"; }
fail() { echo "FAIL program/threads.$1: $2"; }
skip() { echo "SKIP program/threads.$1: $2"; }

# build NAME MODEL CFLAGS...: the program $tmp/NAME
build() {
    name=$1 model=$2; shift 2
    if "$root/build/dnnc" --main "$model" -o "$tmp/$name.c" 2>"$tmp/err" &&
       ${CC:-cc} -std=c99 "$@" -Wall -Wextra -Wpedantic -Werror -I"$root/runtime" "$tmp/$name.c" \
           "$root/build/libdnnrt.a" -lz -lm -o "$tmp/$name" 2>"$tmp/err"; then
        pass "$name.build"
    else
        fail "$name.build" "$(head -3 "$tmp/err")"
        return 1
    fi
}

# same_bits NAME: trains and evaluates NAME with 1, 2 and 3 threads, compares
same_bits() {
    name=$1
    for t in 1 2 3; do
        if ! "$tmp/$name" train "$fashion/train-images-idx3-ubyte.gz" "$fashion/train-labels-idx1-ubyte.gz" \
                --scale 1/255 --limit 1000 --epochs 1 --quiet --threads $t --save "$tmp/$name.$t.safetensors" \
                >"$tmp/out" 2>&1 ||
           ! "$tmp/$name" eval "$fashion/t10k-images-idx3-ubyte.gz" "$fashion/t10k-labels-idx1-ubyte.gz" --limit 500 \
                --weights "$tmp/$name.$t.safetensors" --threads $t >"$tmp/$name.$t.eval" 2>&1; then
            fail "$name.same_bits" "--threads $t: $(head -2 "$tmp/out" "$tmp/$name.$t.eval" | tr '\n' ' ')"
            return
        fi
    done
    for t in 2 3; do
        if ! cmp -s "$tmp/$name.1.safetensors" "$tmp/$name.$t.safetensors"; then
            fail "$name.same_bits" "the weights after --threads $t differ from --threads 1's"
            return
        elif ! cmp -s "$tmp/$name.1.eval" "$tmp/$name.$t.eval"; then
            fail "$name.same_bits" "eval with --threads $t differs: $(diff "$tmp/$name.1.eval" "$tmp/$name.$t.eval" | head -3)"
            return
        fi
    done
    pass "$name.same_bits"
}

if [ ! -f "$fashion/train-images-idx3-ubyte.gz" ]; then
    skip same_bits "no Fashion-MNIST in $fashion (apt-get install dataset-fashion-mnist)"
else
    for model in "$root/models/mlp.dnn" "$root/models/lenet5.dnn" "$tmp/bnnet.dnn"; do
        m=$(basename "$model" .dnn)
        build $m "$model" -O2 && same_bits $m
        build ${m}_avx "$model" -O3 -march=native && same_bits ${m}_avx
    done
fi

# A thread count that is no count: exit 2, the option and what it takes.
[ -x "$tmp/mlp" ] || build mlp "$root/models/mlp.dnn" -O2
for bad in 0 -1 abc 65; do
    "$tmp/mlp" train "$fashion/train-images-idx3-ubyte.gz" "$fashion/train-labels-idx1-ubyte.gz" --threads "$bad" \
        --save "$tmp/bad.safetensors" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    want="--threads takes a whole number from 1 to 64, not '$bad'"
    if [ $rc -eq 2 ] && grep -qF -- "$want" "$tmp/err" && [ ! -e "$tmp/bad.safetensors" ]; then
        pass "bad_count_$bad"
    else
        fail "bad_count_$bad" "exit $rc, want 2 and \"$want\": $(head -2 "$tmp/err" | tr '\n' ' ')"
    fi
done
if "$tmp/mlp" --help 2>&1 | grep -q -- "--threads N"; then pass usage; else fail usage "--help does not show --threads N"; fi

# The training code hands its loops over; batch-1 inference keeps one thread.
"$root/build/dnnc" models/lenet5.dnn -o "$tmp/train_code.c" 2>"$tmp/err"
"$root/build/dnnc" --inference models/lenet5.dnn -o "$tmp/infer_code.c" 2>>"$tmp/err"
loops=$(grep -c 'dnn_parallel_run_work(' "$tmp/train_code.c")
if [ "$loops" -ge 12 ] && ! grep -q 'dnn_parallel' "$tmp/infer_code.c"; then
    pass generated_code
else
    fail generated_code "$loops loops handed over in LeNet-5's training code (want 12 or more), inference: $(grep -c dnn_parallel "$tmp/infer_code.c")"
fi
"$root/build/dnnc" "$tmp/bnnet.dnn" -o "$tmp/bn_code.c" 2>"$tmp/err"
bn=$(grep -c 'dnn_parallel_run_work(bnnet_features_[0-9]*_\(forward\|backward\)_part, &(dnn_bn_split)' "$tmp/bn_code.c")
grouped=$(grep -c 'dnn_conv2d_grouped_[a-z_]*(a->out' "$tmp/bn_code.c")
if [ "$bn" -eq 6 ] && [ "$grouped" -eq 6 ]; then
    pass generated_code_bnnet
else
    fail generated_code_bnnet "bnnet's training code hands over $bn batchnorm steps (want 6: 3 forward, 3 backward) and $grouped grouped conv2d loops (want 6: 2 forward, 2 dinp, 2 dweight)"
fi
