#!/bin/sh
# Data augmentation on Fashion-MNIST: fashion.dnn (a small convolutional
# network with crop, flip and rotation in its train block) shows what its
# augmentation does to 32 images (augmented.png), trains on the first 600
# training images, validates on 600 test images after every epoch, and
# evaluates on 2000. Arguments go to `train`, e.g.
#   examples/augment/run.sh                         (what make check runs: ~10 s)
#   examples/augment/run.sh --limit 5000 --epochs 30
set -e
cd "$(dirname "$0")/../.."
data=/usr/share/datasets/fashion-mnist
out=build/examples/augment
prog=$(sh examples/program.sh examples/augment/fashion.dnn $out)
$prog augment $data/train-images-idx3-ubyte.gz --scale 1/255 --limit 32 --out $out/augmented.png
$prog train $data/train-images-idx3-ubyte.gz $data/train-labels-idx1-ubyte.gz --scale 1/255 --limit 600 \
    --val $data/t10k-images-idx3-ubyte.gz,$data/t10k-labels-idx1-ubyte.gz --save $out/fashion.safetensors "$@"
$prog eval $data/t10k-images-idx3-ubyte.gz $data/t10k-labels-idx1-ubyte.gz --weights $out/fashion.safetensors \
    --limit 2000 | head -n 1
