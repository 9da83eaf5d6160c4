#!/bin/sh
# Fashion-MNIST: models/mlp.dnn (or MODEL=lenet5) trained from Debian's IDX
# files by its generated training program, validated and evaluated on the
# 10,000 test images. Arguments go to `train`, e.g.
#   examples/fashion/run.sh --limit 10000 --epochs 1       (what make demo runs)
#   examples/fashion/run.sh                                 (60,000 images, the .dnn's epochs)
#   MODEL=lenet5 examples/fashion/run.sh --epochs 3
set -e
cd "$(dirname "$0")/../.."
data=/usr/share/datasets/fashion-mnist
model=${MODEL:-mlp}
out=build/examples/fashion
prog=$(sh examples/program.sh models/$model.dnn $out)
names="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
$prog train $data/train-images-idx3-ubyte.gz $data/train-labels-idx1-ubyte.gz --scale 1/255 \
    --val $data/t10k-images-idx3-ubyte.gz,$data/t10k-labels-idx1-ubyte.gz --class-names "$names" \
    --save $out/$model.safetensors "$@"
$prog eval $data/t10k-images-idx3-ubyte.gz $data/t10k-labels-idx1-ubyte.gz --weights $out/$model.safetensors
