#!/bin/sh
# tests/numerics/run.sh — the extreme-value suite: softmax, log_softmax,
# cross_entropy, bce, bce_with_logits, sigmoid, tanh, elu, relu, log and sqrt at
# logits of +-1e4 and beyond float32's exp range, probabilities exactly 0
# and 1, denormals and signed zeros (cases/*.dnn, written with their PyTorch
# answers in data/ by make_numerics.py). Each case goes through the golden
# suite's run.sh and harness.c (compiled with -DEXTREME): forward, loss and
# every gradient against PyTorch 1.13 in float32, finite wherever PyTorch
# is finite and infinite with the same sign where it is not (log(0),
# sqrt'(0), log_softmax of -3e38 next to 3e38). Prints "PASS numerics/CASE
# GROUP" lines; usage: sh tests/numerics/run.sh [CASE ...]
cd "$(dirname "$0")/../.." || exit 2
GOLDEN_DIR=tests/numerics GOLDEN_SUITE=numerics GOLDEN_FLAGS=-DEXTREME=1 exec sh tests/golden/run.sh "$@"
