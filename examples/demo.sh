#!/bin/sh
# make demo: compiles the example models, shows their layer tables, and
# trains XOR and iris with the generated code.
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
