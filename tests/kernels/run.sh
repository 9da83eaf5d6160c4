#!/bin/sh
# tests/kernels/run.sh — every kernel of runtime/dnn_kernels.h against its
# plain reference over many shapes (generate.sh), built for each vector
# path the CPU runs and for plain C (kernels.c says what is checked).
# kernels.cortex_m4: kernels.c compiles warning-free for a Cortex-M4 at -Os.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS kernels/$1"; }
fail() { echo "FAIL kernels/$1: $2"; }
avx=yes
grep -q ' avx2 ' /proc/cpuinfo 2>/dev/null && grep -q ' fma ' /proc/cpuinfo || avx=

k=$tmp/k
. tests/kernels/generate.sh

# The builds: AVX2 and FMA (DNN_V8); DNN_V8X2 emulated on AVX2 (kernel_cases.h),
# so that the AVX-512 kernels' blocking is tested on any x86-64 with AVX2;
# AVX-512 itself instead when the CPU has it (else also AVX2 with clang); plain C. Two
# at a time. ISO C (-std=c99), as generated code is built: GNU modes let gcc
# fuse a * b + c where it likes (-ffp-contract=fast), differently in two
# spellings of one sum.
# build NAME FLAGS [CC]: compiles and runs kernels.c, its verdict into $k/NAME.verdict
build() {
    # shellcheck disable=SC2086 # $2 is a list
    if ! ${3:-cc} -std=c99 -O2 $2 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$k" -Itests/kernels tests/kernels/kernels.c \
        runtime/core/*.c -lm -o "$k/kernels.$1" 2>"$k/err.$1"; then
        fail "kernels.$1" "cc: $(grep -m1 error "$k/err.$1" || head -n1 "$k/err.$1")"
    elif "$k/kernels.$1" >"$k/out.$1" 2>&1; then
        pass "kernels.$1"
    else
        fail "kernels.$1" "$(grep -c FAIL "$k/out.$1") checks failed: $(grep -m3 FAIL "$k/out.$1" | tr '\n' ';')"
    fi >"$k/$1.verdict"
}
if [ -s "$k/failures" ]; then
    fail kernels "$(tr '\n' ' ' <"$k/failures")"
    exit 0
fi
builds=portable
if [ -n "$avx" ]; then
    build avx2 "-mavx2 -mfma" &
    if grep -q ' avx512f' /proc/cpuinfo; then
        # the real thing: no need to emulate it too
        builds="avx2 avx512 portable"
        build avx512 "-mavx512f -mavx2 -mfma"
    else
        builds="avx2 v8x2 portable"
        build v8x2 "-mavx2 -mfma -DEMULATE_V8X2 -Wno-psabi"
        if command -v clang >/dev/null; then
            builds="$builds clang"
            wait
            build clang "-mavx2 -mfma" clang &
        fi
    fi
    wait
else
    echo "SKIP kernels/kernels.avx2: the CPU has no AVX2 and FMA"
fi
build portable -DDNN_PORTABLE
wait
for b in $builds; do cat "$k/$b.verdict"; done

# The vector builds' bits (kernels.c's "bits" lines): the 16-float kernels
# keep each lane's sums as the 8-float ones, so AVX-512 (and its emulation)
# must give the AVX2 build's bits, and a model the same trained weights.
for b in v8x2 avx512; do
    case " $builds " in *" $b "*) ;; *) continue ;; esac
    grep -s '^bits ' "$k/out.avx2" >"$k/bits.avx2"
    grep -s '^bits ' "$k/out.$b" >"$k/bits.$b"
    if [ ! -s "$k/bits.avx2" ]; then
        fail "bits.$b" "the AVX2 build printed no bits"
    elif cmp -s "$k/bits.avx2" "$k/bits.$b"; then
        pass "bits.$b"
    else
        diff "$k/bits.avx2" "$k/bits.$b" | grep '^>' | cut -d' ' -f3-4 >"$k/differ.$b"
        fail "bits.$b" "$(wc -l <"$k/differ.$b") results differ from the AVX2 build's: $(head -n3 "$k/differ.$b" | tr '\n' ';')"
    fi
done

# The kernels as firmware compiles them: a Cortex-M4 at -Os (not inlined
# then), warning-free; compiled only, not run.
if command -v arm-none-eabi-gcc >/dev/null; then
    if arm-none-eabi-gcc -std=c99 -Os -mcpu=cortex-m4 -mthumb -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$k" \
        -Itests/kernels -c tests/kernels/kernels.c -o "$k/kernels.arm.o" 2>"$k/err.arm"; then
        pass kernels.cortex_m4
    else
        fail kernels.cortex_m4 "arm-none-eabi-gcc: $(grep -m1 -E 'error|warning' "$k/err.arm" || head -n1 "$k/err.arm")"
    fi
else
    echo "SKIP kernels/kernels.cortex_m4: arm-none-eabi-gcc is not installed"
fi
