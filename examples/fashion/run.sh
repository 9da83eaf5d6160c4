#!/bin/sh
# Fashion-MNIST: the 784-128-64-10 MLP trained from Debian's IDX files by
# its generated training program. Arguments are passed to `train`, e.g.
#   examples/fashion/run.sh --limit 10000 --epochs 1     (what make demo runs)
#   examples/fashion/run.sh                              (60,000 images, 5 epochs)
set -e
cd "$(dirname "$0")/../.."
data=/usr/share/datasets/fashion-mnist
out=build/examples/fashion
mlp=$(sh examples/program.sh models/mlp.dnn $out)
$mlp train $data/train-images-idx3-ubyte.gz $data/train-labels-idx1-ubyte.gz --scale 1/255 \
    --val $data/t10k-images-idx3-ubyte.gz,$data/t10k-labels-idx1-ubyte.gz --save $out/mlp.safetensors "$@"
$mlp eval $data/t10k-images-idx3-ubyte.gz $data/t10k-labels-idx1-ubyte.gz --weights $out/mlp.safetensors
