#!/bin/sh
# examples/program.sh MODEL.dnn DIR — builds the training program of a model
# (dnnc --main) as DIR/NAME and prints its path. Run from the project root
# after `make`.
set -e
model=$1 dir=$2
name=$(basename "$model" .dnn)
mkdir -p "$dir"
build/dnnc --main "$model" -o "$dir/$name.c"
${CC:-cc} -std=c99 -O2 -Wall -Wextra -Iruntime "$dir/$name.c" build/libdnnrt.a -lz -lm -o "$dir/$name"
echo "$dir/$name"
