#!/bin/sh
# tests/golden/covering.sh — prints the golden cases that together use every
# operation of the IR (dnnc --emit=ir, forward and backward), about a third
# of them: each case, in name order, that uses an operation no earlier one
# did. The suites build every case on each code path (plain, AVX2, size,
# speed) and run the other builds of the same code (AVX-512's same bits,
# a partial batch, loaded weights) on these alone, to keep `make check`
# within its time; a new operation brings its first case in by itself.
# The names on one line, a space between them, so that a suite can test
# a case with `case " $list " in *" CASE "*)`.
# Usage: sh tests/golden/covering.sh [DNNC]   (from the project root)
dnnc=${1:-build/dnnc}
seen=" " picked=
for f in tests/golden/cases/*.dnn; do
    new=
    for op in $("$dnnc" --emit=ir "$f" -o - 2>/dev/null | sed -n 's/^%[0-9]* = \([a-z_0-9.]*\).*/\1/p' | sort -u); do
        case "$seen" in *" $op "*) ;; *) seen="$seen$op " new=1 ;; esac
    done
    [ -n "$new" ] && picked="$picked${picked:+ }$(basename "$f" .dnn)"
done
echo "$picked"
