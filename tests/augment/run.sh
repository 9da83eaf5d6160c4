#!/bin/sh
# Data augmentation (`augment` in a train block; docs/training.md): the
# transforms of runtime/dnn_augment.c against torchvision's results at fixed
# draws (transforms.safetensors, written by make_goldens.py), also under
# ASan and UBSan.
# Prints "PASS augment.NAME", "FAIL augment.NAME: why" or "SKIP augment.NAME: why".
cd "$(dirname "$0")/../.." || exit 2
here=tests/augment
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}

pass() { echo "PASS augment.$1"; }
fail() { echo "FAIL augment.$1: $2"; }
skip() { echo "SKIP augment.$1: $2"; }

# the transforms against torchvision, plain and under the sanitizers
S="-fsanitize=address,undefined -fno-omit-frame-pointer -g"
for variant in plain asan; do
    if [ $variant = plain ]; then flags="-O2" lib=build/libdnnrt.a; else flags="-O1 $S" lib=build/asan/libdnnrt.a; fi
    if [ $variant = asan ] && ! make -s build/asan/libdnnrt.a >"$tmp/err" 2>&1; then
        skip "asan" "cannot build the runtime with -fsanitize: $(head -1 "$tmp/err")"
        continue
    fi
    if ! $CC -std=c99 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L $flags -Iruntime \
           $here/test_augment.c $lib -lz -lm -o "$tmp/test_$variant" 2>"$tmp/err"; then
        fail "test_augment.$variant.build" "$(head -1 "$tmp/err")"
        continue
    fi
    UBSAN_OPTIONS=halt_on_error=1 "$tmp/test_$variant" $here/transforms.safetensors >"$tmp/out" 2>&1
    rc=$?
    if [ $variant = plain ]; then
        grep -E '^(PASS|FAIL|SKIP) ' "$tmp/out"
    elif grep -q '^FAIL \|Sanitizer\|runtime error' "$tmp/out"; then
        fail "test_augment.asan" "$(grep -m1 '^FAIL \|ERROR\|runtime error' "$tmp/out" | cut -c 1-200)"
    else
        pass "test_augment.asan"
    fi
    if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$tmp/out"; then
        fail "test_augment.$variant" "exited with $rc: $(grep -v '^PASS ' "$tmp/out" | head -1 | cut -c 1-200)"
    fi
done
