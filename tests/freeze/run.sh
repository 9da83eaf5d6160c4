#!/bin/sh
# tests/freeze/run.sh — partial training (language.md "Freeze patterns"):
# which tensors a freeze statement leaves trainable, by name, layer and
# pattern (the generated NAME_tensors table's trainable flags and
# --emit=summary's count); that the backward pass computes only what the
# updates need (no conv backward under a frozen feature extractor, no
# input gradient of the first trainable layer) and keeps only what it
# reads (the frozen convs fused as in --inference, the arena's size
# pinned); and that a batchnorm whose parameters are all frozen runs in
# eval mode in training (its numbers: the golden case bn_frozen).
cd "$(dirname "$0")/../.." || exit 2
DNNC=${DNNC:-build/dnnc}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS freeze/$1"; }
fail() { echo "FAIL freeze/$1: $2"; }

# lenet FILE FREEZE: models/lenet5.dnn with the statement FREEZE added
lenet() { sed "s/^    train {/    $2\n    train {/" models/lenet5.dnn >"$1"; }

# trainable NAME FREEZE WANT: the tensors' trainable flags, in table order
# ("1" trainable, "0" frozen), and the summary's count of trainable values
trainable() {
    lenet "$tmp/$1.dnn" "$2"
    if ! "$DNNC" "$tmp/$1.dnn" -o "$tmp/$1.c" 2>"$tmp/err"; then
        fail "trainable.$1" "dnnc: $(head -n 1 "$tmp/err")"
        return
    fi
    got=$(sed -n '/^const dnn_tensor_info lenet5_tensors/,/^};/s/.*, \([01]\)\(, DNN_DT_[A-Z0-9]*\)\{0,1\}},$/\1/p' "$tmp/$1.c" | tr -d '\n')
    count=$("$DNNC" --emit=summary "$tmp/$1.dnn" -o - 2>/dev/null | sed -n 's/^trainable parameters: *//p' | tr -d ,)
    if [ "$got" = "$3" ] && [ "$count" = "$4" ]; then
        pass "trainable.$1"
    else
        fail "trainable.$1" "flags $got (want $3), $count trainable values (want $4)"
    fi
}
# tensors: features.0.{weight,bias} features.3.* classifier.1.* classifier.3.* classifier.5.*
trainable none "" 1111111111 61706
trainable features_pattern "freeze features.*;" 0000111111 59134
trainable features_layer "freeze features;" 0000111111 59134
trainable last_two "freeze features.*, classifier.1.*;" 0000001111 11014
trainable biases "freeze *.weight;" 0101010101 236
trainable biases_and_last "freeze features.*.weight, classifier.1.weight, classifier.3.weight;" 0101010111 1076
trainable middle_star "freeze classifier.*.bias;" 1111101010 61492
trainable layer_suffix "freeze *.1;" 1111001111 13586
trainable everything "freeze *;" 0000000000 0

# The backward pass of `freeze features.*`: nothing for the convs, no input gradient of classifier.1
lenet "$tmp/f.dnn" "freeze features.*;"
"$DNNC" "$tmp/f.dnn" -o "$tmp/f.c" 2>"$tmp/err"
if [ ! -s "$tmp/f.c" ]; then
    fail backward.no_conv "dnnc: $(head -n 1 "$tmp/err")"
elif grep -q 'static void lenet5_features_[0-9]*_[a-z0-9_]*_backward' "$tmp/f.c"; then
    fail backward.no_conv "$(grep -o 'lenet5_features_[0-9]*_[a-z0-9_]*_backward' "$tmp/f.c" | head -n 1) is emitted"
else
    pass backward.no_conv
fi
sig=$(grep 'static void lenet5_classifier_1_dense_backward' "$tmp/f.c")
case $sig in
*dinp*|"") fail backward.no_input_gradient "classifier.1's backward: ${sig:-none}" ;;
*dweight*dbias*) pass backward.no_input_gradient ;;
*) fail backward.no_input_gradient "classifier.1's backward: $sig" ;;
esac
# the frozen conv → relu → pool steps fused, as --inference fuses them
if grep -q 'lenet5_features_2_conv2d_relu_maxpool_forward(' "$tmp/f.c" && ! grep -q 'lenet5_features_0_conv2d_forward(' "$tmp/f.c"; then
    pass plan.fused
else
    fail plan.fused "the frozen features are not computed by conv2d_relu_maxpool steps"
fi

# act[] floats: LeNet-5 at batch 32 and 1, whole and partly frozen (docs/training.md, "Partial training")
act() { # act NAME BATCH FREEZE WANT
    lenet "$tmp/$1.dnn" "$3"
    "$DNNC" --batch "$2" "$tmp/$1.dnn" -o "$tmp/$1.c" 2>/dev/null
    got=$(sed -n 's/.*float act\[\([0-9]*\)\].*/\1/p' "$tmp/$1.h")
    if [ "$got" = "$4" ]; then pass "act.$1 ($got floats)"; else fail "act.$1" "act[$got], want $4"; fi
}
act whole.batch32 32 "" 376793
act features.batch32 32 "freeze features.*;" 112961
act last_two.batch32 32 "freeze features.*, classifier.1.*;" 50432
act whole.batch1 1 "" 106963
act features.batch1 1 "freeze features.*;" 96531
act last_two.batch1 1 "freeze features.*, classifier.1.*;" 20379

# A batchnorm with weight and bias frozen: no `training` flag, no buffer updates, the eval-mode gradient
cat >"$tmp/bn.dnn" <<'DNN'
model bnf {
    input  x[4];
    target y[2];
    out = x |> dense(6) |> batchnorm |> tanh |> dense(2);
    output out;
    loss   mse(out, y);
    freeze out.1;
    train { batch 8; }
}
DNN
"$DNNC" "$tmp/bn.dnn" -o "$tmp/bn.c" 2>/dev/null
fwd=$(sed -n '/^static void bnf_out_1_batchnorm_forward/,/^}/p' "$tmp/bn.c")
bwd=$(sed -n '/^static void bnf_out_1_batchnorm_backward/,/^}/p' "$tmp/bn.c")
case $fwd in
*training*|*"running_mean[c] ="*|*"+= 1.0f"*|"") fail batchnorm.eval_forward "$(echo "$fwd" | head -n 1)" ;;
*) pass batchnorm.eval_forward ;;
esac
case $bwd in
*running_var*) pass batchnorm.eval_backward ;;
*) fail batchnorm.eval_backward "$(echo "$bwd" | head -n 1)" ;;
esac
