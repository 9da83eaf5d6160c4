#!/bin/sh
# make demo: compiles the example models, shows their layer tables, and
# trains XOR, iris, a regression and (briefly) Fashion-MNIST with the
# training programs dnnc --main generates.
set -e
cd "$(dirname "$0")/.."
for m in models/*.dnn; do
    echo "== dnnc --emit=summary $m"
    build/dnnc --emit=summary "$m"
    echo
done

echo "== XOR: dnnc --main models/xor.dnn, trained from examples/xor/xor.csv"
sh examples/xor/run.sh
echo

echo "== iris: dnnc --main models/iris.dnn, trained from examples/iris/iris.csv"
sh examples/iris/run.sh
echo

echo "== regression: dnnc --main models/diabetes.dnn, trained from examples/regression/diabetes.csv"
sh examples/regression/run.sh
echo

echo "== Fashion-MNIST: the MLP and LeNet-5, one epoch on 10,000 of the 60,000 training images"
if [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    sh examples/fashion/run.sh --limit 10000 --epochs 1
    MODEL=lenet5 sh examples/fashion/run.sh --limit 10000 --epochs 1
else
    echo "(skipped: install the dataset-fashion-mnist package)"
fi
echo
echo "The logs, curves (.svg) and weights are under build/examples/."
