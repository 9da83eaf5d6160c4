#!/bin/sh
# make demo: compiles the example models, shows their layer tables, and
# trains XOR, iris and (briefly) Fashion-MNIST with the generated code.
set -e
cd "$(dirname "$0")/.."
out=build/demo
mkdir -p "$out"
cc="${CC:-cc} -std=c99 -O2 -Wall -Wextra -Iruntime -I$out"

for m in models/*.dnn; do
    echo "== dnnc --emit=summary $m"
    build/dnnc --emit=summary "$m"
    echo
done

echo "== XOR: dnnc models/xor.dnn, then 2000 SGD steps"
build/dnnc models/xor.dnn -o $out/xor.c
$cc $out/xor.c examples/xor/train.c build/libdnnrt.a -lm -o $out/xor
$out/xor
echo

echo "== iris: dnnc models/iris.dnn, then training on examples/iris/iris.csv"
build/dnnc models/iris.dnn -o $out/iris.c
$cc $out/iris.c examples/iris/train.c build/libdnnrt.a -lm -o $out/iris
$out/iris examples/iris/iris.csv
echo

echo "== Fashion-MNIST: models/mlp.dnn and models/lenet5.dnn, one epoch on 10,000 images"
fashion=/usr/share/datasets/fashion-mnist
if [ -e $fashion/train-images-idx3-ubyte.gz ]; then
    for spec in mlp:MLP lenet5:LENET5; do
        m=${spec%%:*}
        build/dnnc models/$m.dnn -o $out/$m.c
        $cc -DMODEL=$m -DMODEL_UC=${spec#*:} $out/$m.c examples/fashion/train.c build/libdnnrt.a -lz -lm \
            -o $out/fashion_$m
        $out/fashion_$m -d $fashion -n 10000 -e 1 -t 2000 -o $out/$m.safetensors
    done
else
    echo "(skipped: $fashion is missing; install the dataset-fashion-mnist package)"
fi
