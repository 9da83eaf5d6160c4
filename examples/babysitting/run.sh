#!/bin/sh
# Babysitting a training run: the lecture notes' first checks, before any
# long training, on Fashion-MNIST with models/mlp.dnn (784-128-64-10, no
# regularisation). Each check prints "ok" or stops the script with exit 1:
#   1. the initial loss: ten classes and small random weights give a loss
#      near ln 10 = 2.303 (eval without --weights, and epoch 0 of train);
#   2. regularisation on: the initial loss goes up;
#   3. a model that can learn overfits 20 samples: 100% training accuracy.
# Files under build/examples/babysitting.
set -e
cd "$(dirname "$0")/../.."
data=/usr/share/datasets/fashion-mnist
out=build/examples/babysitting
images=$data/t10k-images-idx3-ubyte.gz labels=$data/t10k-labels-idx1-ubyte.gz
rm -rf $out/overfit
mlp=$(sh examples/program.sh models/mlp.dnn $out)

# check WHAT AWK-CONDITION VALUE: prints WHAT and ok, or WRONG and exits 1
check() {
    awk -v what="$1" -v v="$3" "BEGIN { ok = ($2); print what \": \" (ok ? \"ok\" : \"WRONG\"); exit !ok }"
}

echo "== 1. the initial loss: eval of the initial weights (no --weights) on 1000 images"
$mlp eval $images $labels --scale 1/255 --limit 1000 | tee $out/initial.txt | sed -n 1,2p
loss=$(sed -n 's/.*initial weights (seed [0-9]*): loss \([0-9.]*\).*/\1/p' $out/initial.txt)
check "loss $loss, within 0.1 of ln 10 = 2.3026" "v - log(10) < 0.1 && log(10) - v < 0.1" "$loss"

echo
echo "== 2. regularisation on (+ 0.1 * l2(weights)): the initial loss goes up"
sed 's/model mlp/model mlp_l2/; s/loss   cross_entropy(logits, label);/loss   cross_entropy(logits, label) + 0.1 * l2(weights);/' \
    models/mlp.dnn >$out/mlp_l2.dnn
mlp_l2=$(sh examples/program.sh $out/mlp_l2.dnn $out)
reg=$($mlp_l2 eval $images $labels --scale 1/255 --limit 1000 | sed -n 's/.*: loss \([0-9.]*\).*/\1/p')
check "loss $reg, above $loss" "v > $loss" "$reg"

echo
echo "== 3. overfit 20 images, no regularisation: the training accuracy reaches 100%"
$mlp train $images $labels --scale 1/255 --limit 20 --epochs 150 --out $out/overfit --quiet
awk -F, 'NR == 2 || NR == 152 { printf "epoch %d  loss %.4f  acc %.2f%%\n", $1, $3, 100 * $4 }' $out/overfit/mlp.log.csv
acc=$($mlp eval $images $labels --scale 1/255 --limit 20 --weights $out/overfit/mlp.safetensors |
      sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' | head -1)
check "eval on the 20 images: accuracy $acc%" "v == 100" "$acc"
