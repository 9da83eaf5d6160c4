#!/bin/sh
# The compiler's layout (docs/design.md): every call between its files goes
# from a later layer to an earlier one, read with nm from the object files,
# so no pass calls a later pass (the planner does not ask the emitters), no
# two files call each other in a loop, and utilities call no pass; and no
# compiler source file is longer than 1,100 lines.
#
#   sh tests/layout/run.sh [BUILD]      BUILD: the build directory (default build)
cd "$(dirname "$0")/../.." || exit 2
build=${1:-build}
max_lines=1100
if ! command -v nm >/dev/null; then
    echo "SKIP layout: nm is not installed (binutils)"
    exit 0
fi
if ! ls "$build"/compiler/*.o >/dev/null 2>&1; then
    echo "FAIL layout: no $build/compiler/*.o (run make)"
    exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# The layers, earliest first, in the order main.c runs the passes. A file
# calls files of earlier layers only; files on one line call none of each
# other. A new compiler file gets a place here (and a row in docs/design.md).
cat >"$tmp/layers" <<'LAYERS'
util
ast
lexer
parser
ir
cprint
bind
ops
ops_arith ops_dense ops_conv ops_loss ops_train
ops_dispatch
lower_train
lower
shape
autodiff
optim
plan quantize
emit_struct emit_update emit_step
emit
emit_main summary emit_dot emit_int8
pipeline
main
LAYERS

# FILE SYMBOL lines: what each object defines (globally) and what it calls.
for o in "$build"/compiler/*.o "$build"/grammar/*.o; do
    [ -f "$o" ] || continue
    f=$(basename "$o" .o)
    nm "$o" | awk -v f="$f" '$1 == "U" { print f, $2 > "/dev/stderr"; next }
                             NF == 3 && $2 ~ /^[TDRBC]$/ { print f, $3 }' >>"$tmp/defs" 2>>"$tmp/uses"
    echo "$f" >>"$tmp/files"
done

# Every source file has a layer.
for src in compiler/*.c; do
    f=$(basename "$src" .c)
    if awk -v f="$f" '{ for (i = 1; i <= NF; i++) if ($i == f) found = 1 } END { exit !found }' "$tmp/layers"; then
        :
    else
        echo "FAIL layout/layer.$f: compiler/$f.c has no place in tests/layout/run.sh's layers (add it, and to docs/design.md)"
    fi
done

# Every call between two files: the callee's layer must be earlier.
awk 'FILENAME == ARGV[1] { for (i = 1; i <= NF; i++) layer[$i] = FNR; next }
     FILENAME == ARGV[2] { def[$2] = $1; next }
     FILENAME == ARGV[3] { if (($2 in def) && def[$2] != $1) print $1, def[$2], $2; next }' \
    "$tmp/layers" "$tmp/defs" "$tmp/uses" | sort -u >"$tmp/calls"
awk 'FILENAME == ARGV[1] { for (i = 1; i <= NF; i++) layer[$i] = FNR; next }
     FILENAME == ARGV[2] { files[++n] = $1; next }
     { calls[$1] = calls[$1] " " $2; if (!($1 in layer) || !($2 in layer)) next
       if (layer[$2] >= layer[$1]) bad[$1] = bad[$1] sprintf(" %s() of %s (%s layer)", $3, $2,
                                                            layer[$2] == layer[$1] ? "the same" : "a later") }
     END { for (i = 1; i <= n; i++) { f = files[i]; if (!(f in layer)) continue
             if (f in bad) printf "FAIL layout/calls.%s: calls%s\n", f, bad[f]
             else { split(calls[f], c, " "); m = 0; delete seen
                    for (k in c) if (!(c[k] in seen)) { seen[c[k]] = 1; m++ }
                    printf "PASS layout/calls.%s (%d earlier files)\n", f, m } } }' \
    "$tmp/layers" "$tmp/files" "$tmp/calls"

# No compiler source file over the limit.
for src in compiler/*.c compiler/*.h compiler/*.def; do
    n=$(wc -l <"$src")
    if [ "$n" -gt $max_lines ]; then
        echo "FAIL layout/size.$(basename "$src"): $n lines, more than $max_lines (split it by job)"
    fi
done
largest=$(wc -l compiler/*.c compiler/*.h compiler/*.def | grep -v ' total$' | sort -n | tail -1 | awk '{print $2 ", " $1 " lines"}')
echo "PASS layout/size (at most $max_lines lines a file; the largest: $largest)"
