#!/bin/sh
# Regression: diabetes progression from 10 measurements (diabetes.csv),
# standardised inputs, 20% validation, early stopping.
set -e
cd "$(dirname "$0")/../.."
out=build/examples/regression
diabetes=$(sh examples/program.sh models/diabetes.dnn $out)
$diabetes train examples/regression/diabetes.csv --standardize --save $out/diabetes.safetensors
$diabetes eval examples/regression/diabetes.csv --weights $out/diabetes.safetensors
$diabetes predict examples/regression/diabetes.csv --weights $out/diabetes.safetensors --out $out/predictions.csv
echo "predictions: $out/predictions.csv"
