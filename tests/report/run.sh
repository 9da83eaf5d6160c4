#!/bin/sh
# Report tests (runtime/report): builds build/libdnnrt.a and
# test_report.c, runs it (progress lines, CSV log, SVG, confusion matrix),
# checks its SVGs with xmllint and rsvg-convert when installed, runs one
# epoch of progress on a pseudo-terminal made by script(1), checks that
# runtime/report is warning-free under gcc and clang, and runs the tests
# again under ASan and UBSan.
# Prints "PASS report.NAME", "FAIL report.NAME: why" or "SKIP report.NAME: why".
cd "$(dirname "$0")/../.." || exit 2
here=tests/report
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
CFLAGS_TEST="-std=c99 -Wall -Wextra -Werror -Iruntime"

pass() { echo "PASS report.$1"; }
fail() { echo "FAIL report.$1: $2"; }
skip() { echo "SKIP report.$1: $2"; }
first() { head -n 1 "$1" | cut -c 1-200; }

# run_test DIR: runs DIR/test_report on the scratch directory DIR/scratch;
# its PASS/FAIL lines pass through, and a crash without a FAIL line gets one.
run_test() {
    mkdir -p "$1/scratch"
    "$1/test_report" "$1/scratch" >"$1/test.log" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL|SKIP) ' "$1/test.log"
    if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$1/test.log"; then
        why=$(grep -E 'ERROR|runtime error' "$1/test.log" | head -n 1)
        [ -n "$why" ] || why=$(grep -v -E '^(PASS|SKIP) ' "$1/test.log" | head -n 1)
        fail test_report "exited with $rc: $(echo "$why" | cut -c 1-200)"
    fi
}

# ---- the library and the test program -------------------------------------
# When the library does not build (another file of it is broken), the
# report tests still run, built from the sources they need.
lib=build/libdnnrt.a
if make -s build/libdnnrt.a >"$tmp/make.log" 2>&1; then
    pass build_library
else
    fail build_library "make build/libdnnrt.a: $(grep -m 1 -E 'error|Error' "$tmp/make.log" | cut -c 1-200)"
    lib="-D_POSIX_C_SOURCE=200809L $(ls runtime/report/*.c runtime/host/*.c runtime/core/*.c)"
fi
mkdir -p "$tmp/plain"
if ! $CC $CFLAGS_TEST "$here/test_report.c" $lib -lm -o "$tmp/plain/test_report" 2>"$tmp/cc.log"; then
    fail build_test "$(first "$tmp/cc.log")"
    exit 1
fi
run_test "$tmp/plain"
svgs=$(ls "$tmp"/plain/scratch/*.svg 2>/dev/null)

# ---- the pictures are XML a browser can show ----------------------------------
if [ -z "$svgs" ]; then
    fail svg_xmllint "test_report wrote no SVG"
elif ! command -v xmllint >/dev/null 2>&1; then
    skip svg_xmllint "xmllint not installed (test_report checks tag balance itself)"
elif xmllint --noout $svgs 2>"$tmp/xml.log"; then
    pass svg_xmllint
else
    fail svg_xmllint "$(first "$tmp/xml.log")"
fi
if ! command -v rsvg-convert >/dev/null 2>&1; then
    skip svg_renders "rsvg-convert not installed (apt-get install librsvg2-bin)"
else
    ok=1
    for f in $svgs; do
        if ! rsvg-convert "$f" -o "$tmp/render.png" 2>"$tmp/rsvg.log" || [ ! -s "$tmp/render.png" ]; then
            ok=0; fail svg_renders "$(basename "$f"): $(first "$tmp/rsvg.log")"; break
        fi
    done
    [ $ok = 1 ] && pass svg_renders
fi

# ---- progress on a real terminal ---------------------------------------------
# script(1) from util-linux runs the program with a pseudo-terminal as its
# stdout; the program checks isatty and prints its own PASS/FAIL line.
if ! command -v script >/dev/null 2>&1 || ! script --version 2>/dev/null | grep -q util-linux; then
    skip progress_pty "script (util-linux) not installed"
else
    script -qec "$tmp/plain/test_report --pty" /dev/null </dev/null >"$tmp/pty.log" 2>&1
    tr -d '\r' <"$tmp/pty.log" | grep -E '^(PASS|FAIL) report\.progress_pty' >"$tmp/pty.result"
    if [ ! -s "$tmp/pty.result" ]; then
        fail progress_pty "no result from script: $(tr -d '\r' <"$tmp/pty.log" | head -n 1 | cut -c 1-200)"
    elif grep -q '^FAIL' "$tmp/pty.result"; then
        cat "$tmp/pty.result"
    elif ! grep -q "$(printf '\r')epoch 1/2 \[====>" "$tmp/pty.log" ||
         ! grep -q "$(printf '\r')epoch 1/2  loss 0.0010  pty done" "$tmp/pty.log"; then
        fail progress_pty "no redrawn progress line in: $(tr '\r' '|' <"$tmp/pty.log" | head -n 1 | cut -c 1-200)"
    else
        pass progress_pty
    fi
fi

# ---- warning-free -------------------------------------------------------------
for cc in gcc clang; do
    if ! command -v $cc >/dev/null 2>&1; then skip "pedantic_$cc" "$cc not installed"; continue; fi
    ok=1
    for src in runtime/report/*.c; do
        $cc -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -c "$src" -o "$tmp/report.o" 2>"$tmp/cc.log" &&
        $cc -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L -Iruntime \
            -c "$src" -o "$tmp/report.o" 2>>"$tmp/cc.log" || { ok=0; break; }
    done
    if [ $ok = 1 ]; then
        pass "pedantic_$cc"
    else
        fail "pedantic_$cc" "$(first "$tmp/cc.log")"
    fi
done

# ---- everything again under the sanitizers ---------------------------------------
SAN="-g1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
echo 'int main(void) { return 0; }' >"$tmp/probe.c"
if ! { $CC $SAN "$tmp/probe.c" -o "$tmp/probe" && "$tmp/probe"; } >/dev/null 2>&1; then
    skip sanitizers "$CC cannot build with $SAN"
elif ! make -s build/asan/libdnnrt.a CC="$CC" >"$tmp/cc.log" 2>&1; then   # the runtime under them, built once
    fail sanitizers "make build/asan/libdnnrt.a: $(first "$tmp/cc.log")"
else
    mkdir -p "$tmp/san"
    if ! $CC $CFLAGS_TEST $SAN -D_POSIX_C_SOURCE=200809L "$here/test_report.c" build/asan/libdnnrt.a \
            -lm -o "$tmp/san/test_report" 2>"$tmp/cc.log"; then
        fail sanitizers "$(first "$tmp/cc.log")"
    else
        run_test "$tmp/san" >"$tmp/san.log" 2>&1
        if grep -q '^FAIL ' "$tmp/san.log"; then
            fail sanitizers "$(grep '^FAIL ' "$tmp/san.log" | head -n 1 | cut -c 1-200)"
        elif ! cmp -s "$tmp/san/scratch/known.svg" "$tmp/plain/scratch/known.svg"; then
            fail sanitizers "known.svg differs between the two builds"
        else
            pass sanitizers
        fi
    fi
fi
