#!/bin/sh
# tests/quant/bench.sh — bench_kernels_int8.c (the int8 MLP 784-128-64-10,
# batch 1) built for each path of runtime/dnn_kernels_int8.h this CPU can
# run: plain C, AVX2, AVX-512 VNNI. A measurement for tests/quant/README.md
# ("C kernels"), not a test: run it on a quiet machine.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc=${CC:-gcc}
run() { # FLAGS...
    $cc -std=c99 -O2 "$@" -Iruntime tests/quant/bench_kernels_int8.c -o "$tmp/bench" && "$tmp/bench"
}
run -DDNN_PORTABLE
run -DDNN_PORTABLE -march=native
grep -q avx2 /proc/cpuinfo && run -mavx2
if grep -q avx512_vnni /proc/cpuinfo && grep -q avx512bw /proc/cpuinfo; then
    run -mavx512f -mavx512bw -mavx512vnni
else
    echo "avx512vnni: not run, this CPU has no avx512_vnni"
fi
