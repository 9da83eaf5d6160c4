#!/bin/sh
# tests/kernels/run.sh — vector kernels against the portable C on inputs
# that make the order of operations show: the 2x2 maxpool gradient of
# models/lenet5.dnn with ties and NaNs (maxpool_ties.c), built with AVX2 and
# with -DDNN_PORTABLE, must write the same bits.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS kernels/$1"; }
fail() { echo "FAIL kernels/$1: $2"; }

if ! grep -q ' avx2 ' /proc/cpuinfo 2>/dev/null || ! grep -q ' fma ' /proc/cpuinfo; then
    echo "SKIP kernels/maxpool_ties: the CPU has no AVX2 and FMA"
    exit 0
fi
build/dnnc -q --prefix net models/lenet5.dnn -o "$tmp/net.c" || { fail maxpool_ties "dnnc failed"; exit 0; }
{
    echo '#include "dnn.h"'
    awk '/^static void net_features_2_maxpool\(/,/^}/' "$tmp/net.c" | sed 's/net_features_2_maxpool(/pool_forward(/'
    awk '/^static void net_features_2_maxpool_grad0\(/,/^}/' "$tmp/net.c" | sed 's/net_features_2_maxpool_grad0(/pool_grad(/'
} >"$tmp/pool.h"
grep -q 'DNN_V8' "$tmp/pool.h" || { fail maxpool_ties "no vector path in the generated maxpool gradient"; exit 0; }
for build in avx portable; do
    flags="-mavx2 -mfma"; [ $build = portable ] && flags=-DDNN_PORTABLE
    # shellcheck disable=SC2086 # $flags is a list
    cc -std=c99 -O2 $flags -Wall -Wextra -Werror -Iruntime -I"$tmp" tests/kernels/maxpool_ties.c -lm \
        -o "$tmp/$build" 2>"$tmp/err" || { fail maxpool_ties "cc: $(head -n1 "$tmp/err")"; exit 0; }
done
for seed in 1 2 3 4 5; do
    "$tmp/avx" $seed >"$tmp/avx.out" && "$tmp/portable" $seed >"$tmp/portable.out" &&
        cmp -s "$tmp/avx.out" "$tmp/portable.out" || { fail maxpool_ties "seed $seed: the two builds differ"; exit 0; }
done
pass maxpool_ties
