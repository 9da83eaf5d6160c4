#!/bin/sh
# tests/kernels/run.sh — the kernels against each other and against the
# code dnnc generates. The first two tests extract generated functions into
# a header, build their .c with AVX2 and with -DDNN_PORTABLE, and the two
# builds must write the same bits on inputs that make the order of
# operations show:
#   maxpool_ties: the 2x2 maxpool gradient of models/lenet5.dnn, ties and NaNs;
#   conv_pools:   the conv2d kernels with columns in the lanes (conv_pools.dnn:
#                 fused conv → relu/none → max/avg pool, and an unfused conv).
# kernels.BUILD: every kernel of runtime/dnn_kernels.h against the generated
#   steps of many shapes (generate.sh), bit for bit, and against its plain
#   reference (kernels.c), built for each vector path the CPU runs.
# kernels.cortex_m4: kernels.c compiles warning-free for a Cortex-M4 at -Os.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS kernels/$1"; }
fail() { echo "FAIL kernels/$1: $2"; }
avx=yes
grep -q ' avx2 ' /proc/cpuinfo 2>/dev/null && grep -q ' fma ' /proc/cpuinfo || avx=

if [ -z "$avx" ]; then
    echo "SKIP kernels/maxpool_ties: the CPU has no AVX2 and FMA"
    echo "SKIP kernels/conv_pools: the CPU has no AVX2 and FMA"
else
    # extract FROM TO FILE: generated function FROM of FILE, renamed TO
    extract() { awk "/^static void $1\\(/,/^}/" "$3" | sed "s/$1(/$2(/"; }

    # check NAME: builds tests/kernels/NAME.c against $tmp/NAME.h both ways and compares five seeds
    check() {
        grep -q 'DNN_V8' "$tmp/$1.h" || { fail "$1" "no vector path in the generated code"; return; }
        for build in avx portable; do
            flags="-mavx2 -mfma"; [ $build = portable ] && flags=-DDNN_PORTABLE
            # shellcheck disable=SC2086 # $flags is a list
            cc -std=c99 -O2 $flags -Wall -Wextra -Werror -Iruntime -I"$tmp" "tests/kernels/$1.c" -lm \
                -o "$tmp/$1.$build" 2>"$tmp/err" || { fail "$1" "cc: $(head -n1 "$tmp/err")"; return; }
        done
        for seed in 1 2 3 4 5; do
            "$tmp/$1.avx" $seed >"$tmp/avx.out" && "$tmp/$1.portable" $seed >"$tmp/portable.out" &&
                cmp -s "$tmp/avx.out" "$tmp/portable.out" || { fail "$1" "seed $seed: the two builds differ"; return; }
        done
        pass "$1"
    }

    if build/dnnc -q --prefix net models/lenet5.dnn -o "$tmp/lenet5.c"; then
        {
            echo '#include "dnn.h"'
            extract net_features_2_maxpool pool_forward "$tmp/lenet5.c"
            extract net_features_2_maxpool_grad0 pool_grad "$tmp/lenet5.c"
        } >"$tmp/maxpool_ties.h"
        check maxpool_ties
    else
        fail maxpool_ties "dnnc failed"
    fi

    if build/dnnc -q --prefix net --inference tests/kernels/conv_pools.dnn -o "$tmp/fused.c" &&
        build/dnnc -q --prefix net tests/kernels/conv_pools.dnn -o "$tmp/train.c"; then
        {
            echo '#include <string.h>'
            echo '#include "dnn.h"'
            extract net_relu_max_2_conv2d_relu_maxpool pool_relu_max "$tmp/fused.c"
            extract net_plain_max_1_conv2d_maxpool pool_plain_max "$tmp/fused.c"
            extract net_relu_avg_2_conv2d_relu_avgpool pool_relu_avg "$tmp/fused.c"
            extract net_relu_max_0_conv2d conv_unfused "$tmp/train.c"
        } >"$tmp/conv_pools.h"
        grep -c 'output columns in the vector lanes' "$tmp/conv_pools.h" | grep -qx 4 ||
            fail conv_pools "the four kernels are not all the columns-in-lanes kind"
        check conv_pools
    else
        fail conv_pools "dnnc failed"
    fi
fi

k=$tmp/k
. tests/kernels/generate.sh

# The builds: AVX2 and FMA (DNN_V8); DNN_V8X2 emulated on AVX2 (kernel_cases.h),
# so that the AVX-512 kernels' blocking is tested on any x86-64 with AVX2;
# AVX-512 itself when the CPU has it (else AVX2 with clang); plain C. Two
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
    builds="avx2 v8x2 portable"
    build avx2 "-mavx2 -mfma" &
    build v8x2 "-mavx2 -mfma -DEMULATE_V8X2 -Wno-psabi"
    wait
    if grep -q ' avx512f' /proc/cpuinfo; then
        builds="$builds avx512"
        build avx512 "-mavx512f -mavx2 -mfma" &
    elif command -v clang >/dev/null; then
        builds="$builds clang"
        build clang "-mavx2 -mfma" clang &
    fi
else
    echo "SKIP kernels/kernels.avx2: the CPU has no AVX2 and FMA"
fi
build portable -DDNN_PORTABLE
wait
for b in $builds; do cat "$k/$b.verdict"; done

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
