#!/bin/sh
# The lecture notes' perceptron: from zero weights, one sample at a time,
# to 100% training accuracy on linearly separable points (points.csv,
# written by make_data.sh). Then the same network with hinge(margin = 0)
# instead, which from zero weights never moves: its gradient at score 0 is
# 0 (PyTorch's too), where the perceptron criterion's is −y·x.
set -e
cd "$(dirname "$0")/../.."
out=build/examples/perceptron
mkdir -p $out
sh examples/perceptron/make_data.sh >$out/points.csv
cmp -s $out/points.csv examples/perceptron/points.csv ||
    { echo "make_data.sh no longer writes points.csv" >&2; exit 1; }
perceptron=$(sh examples/program.sh examples/perceptron/perceptron.dnn $out)
$perceptron train examples/perceptron/points.csv --quiet --save $out/perceptron.safetensors
echo "perceptron criterion, from zero weights:"
$perceptron eval examples/perceptron/points.csv --weights $out/perceptron.safetensors

sed 's/loss   perceptron(score, y);/loss   hinge(score, y, margin = 0);/; s/model perceptron/model hinge0/' \
    examples/perceptron/perceptron.dnn >$out/hinge0.dnn
hinge0=$(sh examples/program.sh $out/hinge0.dnn $out)
$hinge0 train examples/perceptron/points.csv --quiet --save $out/hinge0.safetensors
echo "hinge(margin = 0), from zero weights (every score stays 0, every sample is called -1):"
$hinge0 eval examples/perceptron/points.csv --weights $out/hinge0.safetensors
