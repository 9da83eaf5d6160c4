#!/bin/sh
# Snapshots of generated code, in the spirit of Lua's code tests: each
# cases/NAME.dnn with its expected `--emit=ir` (expected/NAME.ir) and a
# compact view of the C it becomes (expected/NAME.c, compact.awk: kernels
# shown by their length, the API's functions whole), for training and for
# --inference. A change to generated code shows in review as a change here.
# `make check` compares and never rewrites; `make snapshots` (this script
# with --refresh) rewrites the expected files after a deliberate change.
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
dnnc=$root/build/dnnc
refresh=0; [ "$1" = --refresh ] && refresh=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p tests/snapshot/expected
for case in tests/snapshot/cases/*.dnn; do
    name=$(basename "$case" .dnn)
    cp "$case" "$tmp/$name.dnn"
    # NAME.ir, NAME.c and NAME.inference.c, each made the same way in the same place (the command is stamped in the C)
    (cd "$tmp" && "$dnnc" "$name.dnn" --emit=ir -o "$name.ir" &&
        "$dnnc" "$name.dnn" -o "$name.c" && awk -f "$root/tests/snapshot/compact.awk" "$name.c" >"$name.c.view" &&
        "$dnnc" "$name.dnn" --inference -o "$name.c" &&
        awk -f "$root/tests/snapshot/compact.awk" "$name.c" >"$name.inference.c.view") >"$tmp/err" 2>&1 || {
        echo "FAIL snapshot/$name: dnnc failed: $(head -1 "$tmp/err")"; continue; }
    for kind in ir c inference.c; do
        got=$tmp/$name.$kind; [ "$kind" = ir ] || got=$got.view
        want=tests/snapshot/expected/$name.$kind
        if [ $refresh = 1 ]; then
            cp "$got" "$want" && echo "PASS snapshot/$name.$kind (refreshed)"
        elif [ ! -f "$want" ]; then
            echo "FAIL snapshot/$name.$kind: no $want (make snapshots writes it)"
        elif cmp -s "$got" "$want"; then
            echo "PASS snapshot/$name.$kind"
        else
            echo "FAIL snapshot/$name.$kind: generated code changed (review, then make snapshots):"
            diff -u "$want" "$got" | sed -n '1,25p' | sed 's/^/    /'
        fi
    done
done
