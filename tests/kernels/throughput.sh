#!/bin/sh
# tests/kernels/throughput.sh [CFLAGS [control] [TAG...]] — times every kernel of
# runtime/dnn_kernels.h against the step dnnc generates today for the same
# layer (throughput.c; generate.sh's cases), and prints the ratios: a
# harness for bench/README.md, not a test (it takes a few minutes and
# judges nothing). CFLAGS default to bench's, -O3 -march=native. Run it on
# a quiet machine: both sides are timed in CPU time, interleaved, 11 times.
# `control` times the generated step against itself (the noise); TAGs:
# only the cases whose tag contains one (throughput.c).
cd "$(dirname "$0")/../.." || exit 2
[ -x build/dnnc ] || { echo "throughput.sh: error: build/dnnc is missing; run make first" >&2; exit 2; }
flags=${1:--O3 -march=native} # before generate.sh, whose `set --` replaces $1
[ $# -gt 0 ] && shift
args=$*
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
k=$tmp/k
. tests/kernels/generate.sh
if [ -s "$k/failures" ]; then
    echo "throughput.sh: error: the models did not compile: $(tr '\n' ' ' <"$k/failures")" >&2
    exit 1
fi
# shellcheck disable=SC2086 # $flags is a list
cc -std=c99 $flags -Wall -Wextra -Iruntime -I"$k" -Itests/kernels -Ibench tests/kernels/throughput.c runtime/core/*.c \
    -lm -o "$k/throughput" || exit 1
echo "# cc -std=c99 $flags; $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
# shellcheck disable=SC2086 # $args is a list
"$k/throughput" $args
