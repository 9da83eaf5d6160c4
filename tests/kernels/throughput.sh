#!/bin/sh
# tests/kernels/throughput.sh [CFLAGS] — times every kernel of
# runtime/dnn_kernels.h against its plain loops (throughput.c;
# generate.sh's cases), and prints the ratios: a harness for
# bench/README.md, not a test (it takes a few minutes and judges nothing).
# CFLAGS default to bench's, -O3 -march=native. Run it on a quiet machine:
# both sides are timed in CPU time, interleaved, 11 times.
cd "$(dirname "$0")/../.." || exit 2
flags=${1:--O3 -march=native} # (before generate.sh, which sets the positional parameters)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
k=$tmp/k
. tests/kernels/generate.sh
if [ -s "$k/failures" ]; then
    echo "throughput.sh: error: $(tr '\n' ' ' <"$k/failures")" >&2
    exit 1
fi
# shellcheck disable=SC2086 # $flags is a list
cc -std=c99 $flags -Wall -Wextra -Iruntime -I"$k" -Itests/kernels -Ibench tests/kernels/throughput.c runtime/dnn_core.c \
    -lm -o "$k/throughput" || exit 1
echo "# cc -std=c99 $flags; $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
"$k/throughput"
