#!/bin/sh
# Runtime tests. Builds build/libdnnrt.a and the test programs, runs them,
# checks that the core (runtime/core) stays freestanding and warning-free
# under gcc and clang and builds alone for a Cortex-M4, that the runtime
# keeps its layout (sizes, the libraries' names, no offsets into the model,
# the threads hook), checks files against Python (json + struct, and
# PyTorch when it is installed), then runs the test programs again under
# ASan and UBSan.
# Prints "PASS runtime.NAME", "FAIL runtime.NAME: why" or "SKIP ...".
cd "$(dirname "$0")/../.." || exit 2
here=tests/runtime
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
CFLAGS_TEST="-std=c99 -Wall -Wextra -Werror -Iruntime"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
command -v "$PY" >/dev/null 2>&1 || PY=""

pass() { echo "PASS runtime.$1"; }
fail() { echo "FAIL runtime.$1: $2"; }
skip() { echo "SKIP runtime.$1: $2"; }
# first line of a log file, for a FAIL message
first() { head -n 1 "$1" | cut -c 1-200; }

# run_test DIR NAME ARGS...: runs DIR/test_NAME; its PASS/FAIL lines pass
# through, and a program that dies without a FAIL line gets one.
run_test() {
    dir=$1 t=$2; shift 2
    "$dir/test_$t" "$@" >"$dir/test_$t.log" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL|SKIP) ' "$dir/test_$t.log"
    if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$dir/test_$t.log"; then
        why=$(grep -E 'ERROR|runtime error' "$dir/test_$t.log" | head -n 1)
        [ -n "$why" ] || why=$(grep -v -E '^(PASS|SKIP) ' "$dir/test_$t.log" | head -n 1)
        fail "test_$t" "exited with $rc: $(echo "$why" | cut -c 1-200)"
    fi
}

# run_all DIR: runs the test programs built into DIR.
run_all() {
    mkdir -p "$1/out" "$1/scratch"
    run_test "$1" rng
    run_test "$1" safetensors "$here/fixture.safetensors" "$1/out"
    run_test "$1" host "$1/scratch"
    run_test "$1" threads
}

# ---- the library and the test programs -----------------------------------
if make -s build/libdnnrt.a >"$tmp/make.log" 2>&1; then
    pass build_library
else
    fail build_library "make build/libdnnrt.a: $(first "$tmp/make.log")"
    exit 1
fi
mkdir -p "$tmp/plain"
for t in rng safetensors host threads; do
    if ! $CC $CFLAGS_TEST "$here/test_$t.c" build/libdnnrt.a -lm -o "$tmp/plain/test_$t" 2>"$tmp/cc.log"; then
        fail "build_test_$t" "$(first "$tmp/cc.log")"
        exit 1
    fi
done
run_all "$tmp/plain"

# ---- the core is freestanding and warning-free ----------------------------
# (immintrin.h, for the AVX kernels' vectors, is the compiler's own: no library)
core=$(ls runtime/core/*.c)
bad=$(grep -h '^[[:space:]]*#[[:space:]]*include' $core runtime/dnn.h |
      grep -v -E '<(stdint|stddef|string|math|immintrin)\.h>|"dnn\.h"')
if [ -z "$bad" ]; then pass core_includes; else fail core_includes "$bad"; fi

for cc in gcc clang; do
    if ! command -v $cc >/dev/null 2>&1; then skip "pedantic_$cc" "$cc not installed"; continue; fi
    ok=1
    for src in $core; do
        $cc -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -c "$src" -o "$tmp/core.o" 2>"$tmp/cc.log" ||
            { ok=0; break; }
    done
    for src in runtime/host/*.c; do
        [ $ok = 1 ] || break
        $cc -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L -Iruntime \
            -c "$src" -o "$tmp/host.o" 2>"$tmp/cc.log" || ok=0
    done
    if [ $ok = 1 ]; then pass "pedantic_$cc"; else fail "pedantic_$cc" "$(first "$tmp/cc.log")"; fi
done

# Built freestanding, the core may call only these libc and libm functions.
FREESTANDING='^(memcpy|memset|memcmp|memmove|strlen|strchr|strcmp|sqrt|log|cos|nextafterf)$'
# outside NM OBJECTS...: what the objects call but do not define themselves
outside() {
    nm=$1; shift
    $nm "$@" | awk 'NF >= 2 && $(NF-1) == "U" { u[$NF] = 1 } NF == 3 && $2 != "U" { d[$3] = 1 }
                    END { for (s in u) if (!(s in d)) print s }' | sort
}
if ! command -v nm >/dev/null 2>&1; then
    skip core_freestanding "nm not installed"
else
    ok=1 objs=""
    for src in $core; do
        obj=$tmp/free_$(basename "$src" .c).o objs="$objs $obj"
        if ! $CC -std=c99 -O2 -ffreestanding -fno-builtin -Wall -Wextra -Wpedantic -Werror -Iruntime \
                -c "$src" -o "$obj" 2>"$tmp/cc.log"; then
            ok=0; break
        fi
    done
    [ $ok = 1 ] && extra=$(outside nm $objs | grep -v -E "$FREESTANDING" | tr '\n' ' ')
    if [ $ok = 0 ]; then fail core_freestanding "$(first "$tmp/cc.log")"
    elif [ -z "$extra" ]; then pass core_freestanding
    else fail core_freestanding "calls $extra"; fi
fi

# The library firmware links: `make core` with the cross compiler, the
# flags of docs/firmware.md and -ffreestanding, and nothing but the core
# in it (what examples/firmware/build.sh and tests/firmware link).
if command -v arm-none-eabi-gcc >/dev/null 2>&1; then
    if make -s core CC=arm-none-eabi-gcc BUILD="$tmp/arm" \
            CFLAGS="-mcpu=cortex-m4 -mthumb -Os -ffreestanding -Werror" >"$tmp/cc.log" 2>&1; then
        extra=$(outside arm-none-eabi-nm "$tmp/arm/libdnnrt_core.a" | grep -v -E "$FREESTANDING" |
                grep -v '^__aeabi_' | tr '\n' ' ')
        members=$(arm-none-eabi-ar t "$tmp/arm/libdnnrt_core.a" | tr '\n' ' ')
        want=$(for f in $core; do basename "$f" .c; done | sed 's/$/.o/' | tr '\n' ' ')
        if [ -n "$extra" ]; then
            fail core_cortex_m4 "libdnnrt_core.a for the Cortex-M4 calls $extra"
        elif [ "$members" != "$want" ]; then
            fail core_cortex_m4 "libdnnrt_core.a holds $members, not $want"
        else
            pass core_cortex_m4
        fi
    else
        fail core_cortex_m4 "make core CC=arm-none-eabi-gcc: $(grep -m 1 -E 'error|Error' "$tmp/cc.log" | cut -c 1-200)"
    fi
else
    skip core_cortex_m4 "arm-none-eabi-gcc not installed"
fi

# ---- the layout (docs/design.md, "The runtime's layout") -------------------
# The core stays small: its sources and dnn.h, the kernels (dnn_kernels*)
# aside, within 1,500 lines; no source file of the runtime over 1,000.
lines=$(cat $(echo $core | tr ' ' '\n' | grep -v '/dnn_kernels') runtime/dnn.h | wc -l)
if [ "$lines" -le 1500 ]; then pass core_size; else fail core_size "the core is $lines lines (runtime/core/*.c, dnn.h), over 1,500"; fi
big=$(wc -l runtime/*/*.c | awk '$2 != "total" && $1 > 1000 { printf "%s (%d lines) ", $2, $1 }')
if [ -z "$big" ]; then pass file_size; else fail file_size "over 1,000 lines: $big"; fi
# ar keeps one member per name: two sources called alike would lose one.
dup=$(for f in runtime/*/*.c; do basename "$f"; done | sort | uniq -d | tr '\n' ' ')
if [ -z "$dup" ]; then pass unique_names; else fail unique_names "sources of the same name: $dup"; fi
# The libraries: libdnnrt_core.a is the core alone and needs only the
# freestanding functions; everything libdnnrt.a defines for a program to
# link against starts with dnn_ (the folders share their own helpers
# under that prefix too, declared in the folder's private header).
if ! command -v nm >/dev/null 2>&1; then
    skip libraries "nm not installed"
elif ! make -s build/libdnnrt_core.a >"$tmp/make.log" 2>&1; then
    fail libraries "make build/libdnnrt_core.a: $(first "$tmp/make.log")"
else
    extra=$(outside nm build/libdnnrt_core.a | grep -v -E "$FREESTANDING" | tr '\n' ' ')
    names=$(nm -g --defined-only build/libdnnrt.a | awk 'NF == 3 {print $3}' | grep -v '^dnn_' | tr '\n' ' ')
    if [ -n "$extra" ]; then fail libraries "libdnnrt_core.a calls $extra"
    elif [ -n "$names" ]; then fail libraries "libdnnrt.a defines $names (not dnn_...)"
    else pass libraries; fi
fi

# The training program takes every address in the model from the generated
# code (dnn_program's view, state, hparam, f64_*), none from offsets.
offsets=$(grep -n -E '\b[a-z0-9_]+_offsets?\b|offsetof\([a-z]' runtime/dnn_train.h runtime/train/*.[ch] | cut -c 1-120)
if [ -z "$offsets" ]; then pass model_view; else fail model_view "offsets into the model: $offsets"; fi
# The threads seam: dnn_parallel_for is the core's, NULL (serial) until a
# program sets it, and a program linked with the core alone may set it.
cat >"$tmp/parallel.c" <<'EOF'
#include <stdio.h>
#include "dnn.h"
static int calls;
static void all_at_once(dnn_parallel_body *body, void *ctx, int n) { calls++; body(ctx, 0, n); }
static void count(void *ctx, int lo, int hi) { *(int *)ctx += hi - lo; }
int main(void) {
    int items = 0;
    if (dnn_parallel_for != NULL)
        return printf("dnn_parallel_for is not NULL by default\n"), 1;
    dnn_parallel_for = all_at_once;
    dnn_parallel_for(count, &items, 5);
    return items == 5 && calls == 1 ? 0 : (printf("%d items, %d calls\n", items, calls), 1);
}
EOF
if $CC $CFLAGS_TEST -Wpedantic "$tmp/parallel.c" build/libdnnrt_core.a -lm -o "$tmp/parallel" 2>"$tmp/cc.log" &&
   "$tmp/parallel" >"$tmp/parallel.log" 2>&1; then
    pass parallel_for_hook
else
    fail parallel_for_hook "$(cat "$tmp/cc.log" "$tmp/parallel.log" | head -n 1 | cut -c 1-200)"
fi

# ---- files shared with Python ---------------------------------------------
if [ -z "$PY" ]; then
    skip fixture_reproducible "python3 not installed"
    skip python_reads_saved "python3 not installed"
    skip torch_loads_saved "python3 not installed"
else
    if $PY "$here/make_fixture.py" "$tmp/fixture.safetensors" 2>"$tmp/py.log" &&
       cmp -s "$tmp/fixture.safetensors" "$here/fixture.safetensors"; then
        pass fixture_reproducible
    else
        fail fixture_reproducible "make_fixture.py does not reproduce fixture.safetensors $(first "$tmp/py.log")"
    fi
    if $PY "$here/make_fixture.py" --check "$tmp/plain/out/saved.safetensors" >"$tmp/saved.txt" 2>&1 &&
       cmp -s "$tmp/saved.txt" "$here/saved.expected"; then
        pass python_reads_saved
    else
        fail python_reads_saved "$(diff "$here/saved.expected" "$tmp/saved.txt" | sed -n 2p | cut -c 1-200)"
    fi
    $PY "$here/make_fixture.py" --torch "$tmp/plain/out/torch.safetensors" >"$tmp/torch.txt" 2>&1
    rc=$?
    if [ $rc -eq 3 ]; then
        skip torch_loads_saved "PyTorch not installed"
    elif [ $rc -eq 0 ] && cmp -s "$tmp/torch.txt" "$here/torch.expected"; then
        pass torch_loads_saved
    else
        fail torch_loads_saved "$(diff "$here/torch.expected" "$tmp/torch.txt" | sed -n 2p | cut -c 1-200)"
    fi
fi

echo 'int main(void) { return 0; }' >"$tmp/probe.c"

# ---- the thread pool under ThreadSanitizer -----------------------------------
TSAN="-g1 -O1 -fsanitize=thread -D_POSIX_C_SOURCE=200809L"
if ! { $CC $TSAN "$tmp/probe.c" -o "$tmp/probe" && "$tmp/probe"; } >/dev/null 2>&1; then
    skip threads_tsan "$CC cannot build with -fsanitize=thread"
elif ! $CC $CFLAGS_TEST $TSAN "$here/test_threads.c" runtime/host/dnn_threads.c runtime/core/dnn_core.c -lm \
        -o "$tmp/test_threads_tsan" 2>"$tmp/cc.log"; then
    fail threads_tsan "$(first "$tmp/cc.log")"
elif "$tmp/test_threads_tsan" >"$tmp/tsan.log" 2>&1 && ! grep -q 'WARNING: ThreadSanitizer' "$tmp/tsan.log"; then
    pass threads_tsan
else
    fail threads_tsan "$(grep -m 1 -E 'WARNING|FAIL' "$tmp/tsan.log" | cut -c 1-200)"
fi

# ---- everything again under the sanitizers ---------------------------------
SAN="-g1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if ! { $CC $SAN "$tmp/probe.c" -o "$tmp/probe" && "$tmp/probe"; } >/dev/null 2>&1; then
    skip sanitizers "$CC cannot build with $SAN"
elif ! make -s build/asan/libdnnrt.a CC="$CC" >"$tmp/cc.log" 2>&1; then   # the runtime under them, built once
    fail sanitizers "make build/asan/libdnnrt.a: $(first "$tmp/cc.log")"
else
    mkdir -p "$tmp/san"
    ok=1
    for t in rng safetensors host threads; do
        $CC $CFLAGS_TEST $SAN -D_POSIX_C_SOURCE=200809L "$here/test_$t.c" build/asan/libdnnrt.a \
            -lm -o "$tmp/san/test_$t" 2>"$tmp/cc.log" || { ok=0; fail sanitizers "$(first "$tmp/cc.log")"; break; }
    done
    if [ $ok = 1 ]; then
        run_all "$tmp/san" >"$tmp/san.log" 2>&1
        if grep -q '^FAIL ' "$tmp/san.log"; then
            fail sanitizers "$(grep '^FAIL ' "$tmp/san.log" | head -n 1 | cut -c 1-200)"
        else
            pass sanitizers
        fi
    fi
fi
