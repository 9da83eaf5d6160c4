#!/bin/sh
# iris: train on iris.csv (standardised features; the train block holds out
# 20% for validation), then the confusion matrix over all 150 flowers.
set -e
cd "$(dirname "$0")/../.."
out=build/examples/iris
iris=$(sh examples/program.sh models/iris.dnn $out)
$iris train examples/iris/iris.csv --standardize --save $out/iris.safetensors
$iris eval examples/iris/iris.csv --weights $out/iris.safetensors --confusion $out/confusion.csv
