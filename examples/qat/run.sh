#!/bin/sh
# Quantization-aware training on Fashion-MNIST: LeNet-5 trained in float
# (models/lenet5.dnn), quantized after training (post-training quantization,
# --calibrate), and fine-tuned with the int8 rounding in the loop
# (lenet5_qat.dnn: the same network with `quantize int8;`, started from the
# float weights with --init-from) and converted with --from-qat; the test
# accuracy of the three builds (float32, PTQ int8, QAT int8) on the 10,000
# test images, each an --inference build run by bench/int8/eval.c.
#   examples/qat/run.sh                       (5,000 images: 2 float epochs, 1 QAT epoch; ~1 min)
#   examples/qat/run.sh 60000 10 3            (the table in README.md)
set -e
cd "$(dirname "$0")/../.."
limit=${1:-5000} epochs=${2:-2} qat_epochs=${3:-1}
data=/usr/share/datasets/fashion-mnist
out=${OUT:-build/examples/qat}
CC=${CC:-cc}
float=$(sh examples/program.sh models/lenet5.dnn $out)
qat=$(sh examples/program.sh examples/qat/lenet5_qat.dnn $out)
train="$data/train-images-idx3-ubyte.gz $data/train-labels-idx1-ubyte.gz --scale 1/255 --limit $limit"
$float train $train --epochs "$epochs" --save $out/float.safetensors -q
$float calibrate $data/train-images-idx3-ubyte.gz --weights $out/float.safetensors --limit 500 \
    -o $out/cal.safetensors
$qat train $train --epochs "$qat_epochs" --init-from $out/float.safetensors --save $out/qat.safetensors -q
build/dnnc --inference --embed-weights $out/float.safetensors models/lenet5.dnn -o $out/float.c
build/dnnc --inference --quantize=int8 --calibrate $out/cal.safetensors --embed-weights $out/float.safetensors \
    models/lenet5.dnn -o $out/ptq.c
build/dnnc --inference --quantize=int8 --from-qat $out/qat.safetensors examples/qat/lenet5_qat.dnn -o $out/qat.c
gunzip -c $data/t10k-images-idx3-ubyte.gz >$out/images
gunzip -c $data/t10k-labels-idx1-ubyte.gz >$out/labels
for build in float ptq qat; do
    $CC -std=c99 -O2 -Iruntime -DMODEL=lenet5 -include $out/$build.h bench/int8/eval.c $out/$build.c \
        build/libdnnrt.a -lm -o $out/eval_$build
    printf '%-6s %s\n' $build "$($out/eval_$build $out/images $out/labels)"
done
