#!/bin/sh
# Data-set tests: builds tests/data/test_data.c against build/libdnnrt.a and
# zlib and runs it (small IDX files it writes itself, every malformed case,
# and the real Fashion-MNIST files when dataset-fashion-mnist is installed);
# builds and runs tests/data/test_csv_npy.c (CSV and .npy files it writes
# itself, every error message, a 60000x785 CSV read against the clock, and
# .npy files made by NumPy when /usr/bin/python3 has it: tests/data/make_npy.py);
# checks runtime/data is warning-free under gcc and clang, that a program not
# using the reader links without -lz, that examples/fashion/train.c trains
# both models a little, and reruns the tests under ASan and UBSan.
# Prints "PASS data.NAME", "FAIL data.NAME: why" or "SKIP data.NAME: why".
cd "$(dirname "$0")/../.." || exit 2
here=tests/data
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
CFLAGS_TEST="-std=c99 -Wall -Wextra -Werror -Iruntime"
FASHION=/usr/share/datasets/fashion-mnist

pass() { echo "PASS data.$1"; }
fail() { echo "FAIL data.$1: $2"; }
skip() { echo "SKIP data.$1: $2"; }
first() { head -n 1 "$1" | cut -c 1-200; }

# run_test PROGRAM [ARGS]: runs PROGRAM ARGS (default: the scratch and
# Fashion-MNIST directories); its PASS/FAIL/SKIP lines pass through; a
# program that dies without a FAIL line gets one.
run_test() {
    prog=$1
    shift
    [ $# -gt 0 ] || set -- "$tmp/scratch" "$FASHION"
    mkdir -p "$tmp/scratch"
    "$prog" "$@" >"$prog.log" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL|SKIP) ' "$prog.log"
    if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$prog.log"; then
        why=$(grep -E 'ERROR|runtime error' "$prog.log" | head -n 1)
        [ -n "$why" ] || why=$(grep -v -E '^(PASS|SKIP) ' "$prog.log" | head -n 1)
        fail "$(basename "$prog")" "exited with $rc: $(echo "$why" | cut -c 1-200)"
    fi
}

if ! [ -e /usr/include/zlib.h ]; then
    skip all "zlib.h not installed (zlib1g-dev)"
    exit 0
fi
if make -s build/libdnnrt.a >"$tmp/make.log" 2>&1; then
    pass build_library
else
    fail build_library "make build/libdnnrt.a: $(first "$tmp/make.log")"
    exit 1
fi
# with the library's reallocs counted (one_allocation) where the linker can wrap them
if ! $CC $CFLAGS_TEST -DWRAP_REALLOC -Wl,--wrap=realloc "$here/test_data.c" build/libdnnrt.a -lz -lm \
        -o "$tmp/test_data" 2>/dev/null &&
   ! $CC $CFLAGS_TEST "$here/test_data.c" build/libdnnrt.a -lz -lm -o "$tmp/test_data" 2>"$tmp/cc.log"; then
    fail build_test_data "$(first "$tmp/cc.log")"
    exit 1
fi
run_test "$tmp/test_data"

# CSV and .npy. NumPy makes more .npy files and loads one dnn_npy_write
# wrote, when the system Python has it (PYTHON overrides /usr/bin/python3).
PY=${PYTHON:-/usr/bin/python3}
npy=-
if "$PY" -c 'import numpy' >/dev/null 2>&1; then
    mkdir -p "$tmp/numpy"
    if "$PY" "$here/make_npy.py" make "$tmp/numpy" 2>"$tmp/py.log"; then
        npy=$tmp/numpy
    else
        fail make_npy "$(tail -n 1 "$tmp/py.log" | cut -c 1-200)"
    fi
fi
if ! $CC $CFLAGS_TEST "$here/test_csv_npy.c" build/libdnnrt.a -lz -lm -o "$tmp/test_csv_npy" 2>"$tmp/cc.log"; then
    fail build_test_csv_npy "$(first "$tmp/cc.log")"
else
    rm -rf "$tmp/scratch"
    run_test "$tmp/test_csv_npy" "$tmp/scratch" "$npy"
    if [ "$npy" = - ]; then
        skip numpy_loads_c "no NumPy for $PY (python3-numpy)"
    elif "$PY" "$here/make_npy.py" check "$tmp/scratch/from_c.npy" 2>"$tmp/py.log"; then
        pass numpy_loads_c
    else
        fail numpy_loads_c "$(tail -n 1 "$tmp/py.log" | cut -c 1-200)"
    fi
fi

for cc in gcc clang; do
    if ! command -v $cc >/dev/null 2>&1; then skip "pedantic_$cc" "$cc not installed"; continue; fi
    ok=1
    for src in runtime/data/*.c; do
        $cc -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L -Iruntime \
            -c "$src" -o "$tmp/data.o" 2>"$tmp/cc.log" || { ok=0; break; }
    done
    if [ $ok = 1 ]; then
        pass "pedantic_$cc"
    else
        fail "pedantic_$cc" "$(first "$tmp/cc.log")"
    fi
done

# zlib stays inside dnn_data.o: a program using the rest links without it.
cat >"$tmp/nozlib.c" <<'EOF'
#include <stdio.h>
#include "dnn_host.h"
int main(void) {
    dnn_rng r;
    dnn_rng_seed(&r, 42);
    return printf("%lld %u\n", dnn_file_size("/"), (unsigned)dnn_rng_u32(&r)) < 0;
}
EOF
if $CC $CFLAGS_TEST "$tmp/nozlib.c" build/libdnnrt.a -lm -o "$tmp/nozlib" 2>"$tmp/cc.log" &&
   "$tmp/nozlib" >/dev/null; then
    pass links_without_zlib
else
    fail links_without_zlib "$(first "$tmp/cc.log")"
fi

# The Fashion example builds for both models and learns something from
# 3,000 images in one epoch (chance is 10%; they reach 55-65%).
if [ ! -e "$FASHION/train-images-idx3-ubyte.gz" ] || [ ! -x build/dnnc ]; then
    skip fashion_examples "needs build/dnnc and Fashion-MNIST ($FASHION)"
else
    for spec in mlp:MLP lenet5:LENET5; do
        m=${spec%%:*}
        if build/dnnc "models/$m.dnn" -o "$tmp/$m.c" 2>"$tmp/err" &&
           $CC -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$tmp" -DMODEL="$m" -DMODEL_UC="${spec#*:}" \
               "$tmp/$m.c" examples/fashion/train.c build/libdnnrt.a -lz -lm -o "$tmp/fashion_$m" 2>"$tmp/err"; then
            if "$tmp/fashion_$m" -n 3000 -e 1 -t 1000 -o "$tmp/$m.safetensors" >"$tmp/out" 2>&1 &&
               awk '/^test accuracy:/ { ok = $3 + 0 > 40 } END { exit !ok }' "$tmp/out" &&
               [ -s "$tmp/$m.safetensors" ]; then
                pass "fashion_$m: $(tail -n 1 "$tmp/out")"
            else
                fail "fashion_$m" "$(tail -n 1 "$tmp/out")"
            fi
        else
            fail "fashion_$m" "build: $(first "$tmp/err")"
        fi
    done
fi

SAN="-g1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
echo 'int main(void) { return 0; }' >"$tmp/probe.c"
if ! { $CC $SAN "$tmp/probe.c" -o "$tmp/probe" && "$tmp/probe"; } >/dev/null 2>&1; then
    skip sanitizers "$CC cannot build with $SAN"
elif ! make -s build/asan/libdnnrt.a CC="$CC" >"$tmp/cc.log" 2>&1; then   # the runtime under them, built once
    fail sanitizers "make build/asan/libdnnrt.a: $(first "$tmp/cc.log")"
elif ! $CC $CFLAGS_TEST $SAN -D_POSIX_C_SOURCE=200809L "$here/test_data.c" build/asan/libdnnrt.a \
        -lz -lm -o "$tmp/san_test_data" 2>"$tmp/cc.log"; then
    fail sanitizers "$(first "$tmp/cc.log")"
else
    rm -rf "$tmp/scratch"
    run_test "$tmp/san_test_data" >"$tmp/san.log" 2>&1
    if $CC $CFLAGS_TEST $SAN -D_POSIX_C_SOURCE=200809L "$here/test_csv_npy.c" build/asan/libdnnrt.a \
           -lz -lm -o "$tmp/san_test_csv_npy" 2>"$tmp/cc.log"; then
        rm -rf "$tmp/scratch"
        run_test "$tmp/san_test_csv_npy" "$tmp/scratch" "$npy" --no-timing >>"$tmp/san.log" 2>&1
    else
        fail sanitizers "test_csv_npy: $(first "$tmp/cc.log")" >>"$tmp/san.log"
    fi
    if grep -q '^FAIL ' "$tmp/san.log"; then
        fail sanitizers "$(grep '^FAIL ' "$tmp/san.log" | head -n 1 | cut -c 1-200)"
    else
        pass sanitizers
    fi
fi
