#!/bin/sh
# Transfer learning: an autoencoder learns a code for Fashion-MNIST images
# from 10,000 unlabelled images; its encoder then starts a classifier that
# has only 100 labelled images (--init-from, with --init-map renaming
# encoder.* to features.*), beside the same classifier trained from its
# initial weights. Both are evaluated on 2,000 test images. The script stops
# with exit 1 unless the report says the encoder's two tensors were loaded.
# Files under build/examples/transfer.
set -e
cd "$(dirname "$0")/../.."
data=/usr/share/datasets/fashion-mnist
out=build/examples/transfer
rm -rf $out/autoencoder $out/scratch $out/transfer
ae=$(sh examples/program.sh examples/transfer/autoencoder.dnn $out/bin)
cls=$(sh examples/program.sh examples/transfer/classifier.dnn $out/bin)
train="$data/train-images-idx3-ubyte.gz $data/train-labels-idx1-ubyte.gz"
test="$data/t10k-images-idx3-ubyte.gz $data/t10k-labels-idx1-ubyte.gz"

echo "== the autoencoder: 10,000 images, no labels"
$ae train $data/train-images-idx3-ubyte.gz --scale 1/255 --limit 10000 --out $out/autoencoder

echo
echo "== the classifier from its initial weights: 100 labelled images"
$cls train $train --scale 1/255 --limit 100 --out $out/scratch --quiet

echo
echo "== the classifier from the autoencoder's encoder: the same 100 images"
$cls train $train --scale 1/255 --limit 100 --out $out/transfer --quiet \
    --init-from $out/autoencoder/autoencoder.safetensors --init-map encoder.=features. | tee $out/transfer.txt
grep -q "^  2 of 4 tensors loaded" $out/transfer.txt

echo
for run in scratch transfer; do
    printf '%-8s ' $run
    $cls eval $test --limit 2000 --weights $out/$run/classifier.safetensors | head -1
done
