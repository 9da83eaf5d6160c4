#!/bin/sh
# tests/program — the training programs (dnnc --main, runtime/train):
# data.sh, what they make of a stranger's data (class names, CSV columns,
# preprocessing, batchnorm on one sample, messages); cli.sh, their command
# line (getopt_long's forms, suggestions, standard input, run directories,
# --resume, epoch 0, --init-from, predict --mc-samples); calibrate.sh, the
# calibrate command (the inputs for dnnc --quantize=int8 --calibrate);
# threads.sh, training on several threads (the same bits for any count).
cd "$(dirname "$0")/../.." || exit 2
sh tests/program/data.sh
sh tests/program/cli.sh
sh tests/program/calibrate.sh
sh tests/program/threads.sh
