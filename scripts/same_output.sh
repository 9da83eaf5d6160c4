#!/bin/sh
# Checks that a refactoring of the compiler changed nothing it writes:
# build/dnnc against the dnnc of REF (default: main), built from `git
# archive` in a cache directory, on every .dnn file of the tree, in every
# mode (default, --inference, --optimize=size/speed, --main, --check-finite,
# --batch, --embed-weights with the golden cases' weights and with weights
# carrying preprocessing metadata, --emit=selftest, summary, ir, report,
# report-json, dot). Both run in directories of the same name with the same
# command line (it is stamped into the output); their files, stdout, stderr
# and exit codes must be the same bytes.
#
#   sh scripts/same_output.sh [REF]      prints the differences, "N runs, all the same" or exits 1
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)
ref=${1:-main}
commit=$(git rev-parse --verify "$ref^{commit}") || exit 2
old=${TMPDIR:-/tmp}/dnnc-same-$commit
if [ ! -x "$old/build/dnnc" ]; then
    rm -rf "$old" && mkdir -p "$old" && git archive "$commit" | tar -x -C "$old" || exit 2
    (cd "$old" && make -j2 build/dnnc >/dev/null 2>&1) || { echo "cannot build $ref in $old"; exit 2; }
fi
[ -x build/dnnc ] || { echo "build/dnnc is not built (run make)"; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/old/bin" "$tmp/new/bin" "$tmp/meta"
ln -s "$old/build/dnnc" "$tmp/old/bin/dnnc"
ln -s "$root/build/dnnc" "$tmp/new/bin/dnnc"

# Weights files with the metadata a training program saves (dnn.scale,
# dnn.mean@NAME, dnn.std@NAME), for NAME_preprocess.
python3 - "$tmp/meta" tests/golden/data/*.weights.safetensors <<'EOF' || exit 2
import json, struct, sys, os
out = sys.argv[1]
for k, path in enumerate(sys.argv[2:]):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    meta = head.get('__metadata__', {})
    meta['dnn.scale'] = '0.00392156862745098'
    name = os.path.basename(path).split('.')[0]
    # per-element statistics would need the input's size: per channel, from the case's input
    dnn = 'tests/golden/cases/%s.dnn' % name
    for line in open(dnn):
        line = line.strip()
        if line.startswith('input '):
            inp = line[6:].split('[')[0].strip()
            dims = [int(d) for d in line.split('[')[1].split(']')[0].split(',')]
            c = dims[0]
            meta['dnn.mean@' + inp] = ','.join('%.9g' % (0.1 * i + 0.25) for i in range(c))
            if k % 2 == 0:
                meta['dnn.std@' + inp] = ','.join('%.9g' % (0.5 + 0.125 * i) for i in range(c))
    head['__metadata__'] = meta
    body = json.dumps(head, separators=(',', ':')).encode()
    body += b' ' * (-len(body) % 8)
    open(os.path.join(out, name + '.weights.safetensors'), 'wb').write(struct.pack('<Q', len(body)) + body + raw[8 + n:])
EOF

# compare ARGS...: one dnnc command line, run by both in same-named directories
compare() {
    for side in old new; do
        rm -rf "$tmp/$side/run" && mkdir "$tmp/$side/run"
        (cd "$tmp/$side/run" && PATH="$tmp/$side/bin:$PATH" dnnc "$@" >stdout 2>stderr; echo $? >rc)
    done
    echo >>"$tmp/runs"
    if ! diff -r "$tmp/old/run" "$tmp/new/run" >"$tmp/diff" 2>&1; then
        echo "DIFFERENT: dnnc $*"
        head -n 20 "$tmp/diff" | cut -c 1-200 | sed 's/^/    /'
    fi
}

modes='
-
--inference
--optimize=size
--optimize=speed
--inference --optimize=size
--inference --optimize=speed
--main
--main --optimize=speed
--check-finite
--check-finite --main
--check-finite --inference
--batch 3
--inference --batch 5
--emit=summary
--emit=ir
--emit=report
--emit=report-json
--inference --emit=report
--inference --emit=report-json
--emit=dot
--emit=dot --backward
--inference --emit=ir
'
for f in $(find models examples tests -name '*.dnn' | sort); do
    abs=$root/$f
    args=
    [ -f "${f%.dnn}.args" ] && args=$(cat "${f%.dnn}.args")
    echo "$modes" | while IFS= read -r mode; do
        [ -n "$mode" ] || continue
        [ "$mode" = - ] && mode=
        # shellcheck disable=SC2086
        compare $args $mode "$abs" -o out.c
    done
    name=$(basename "$f" .dnn)
    case $f in
    tests/golden/cases/*)
        w=$root/tests/golden/data/$name.weights.safetensors g=$root/tests/golden/data/$name.golden.safetensors
        m=$tmp/meta/$name.weights.safetensors
        if [ -f "$w" ]; then
            compare --embed-weights "$w" --inference "$abs" -o out.c
            compare --embed-weights "$w" --inference --optimize=speed "$abs" -o out.c
            compare --embed-weights "$w" "$abs" -o out.c
            compare --embed-weights "$w" --inference --emit=report "$abs" -o out.c
            compare --embed-weights "$m" --inference "$abs" -o out.c
            compare --embed-weights "$m" --inference --optimize=speed "$abs" -o out.c
        fi
        if [ -f "$g" ]; then
            compare --emit=selftest --golden "$g" "$abs" -o out.c
            [ -f "$w" ] && compare --emit=selftest --golden "$g" --weights "$w" "$abs" -o out.c
            [ -f "$w" ] && compare --emit=selftest --golden "$g" --weights "$w" --inference "$abs" -o out.c
        fi
        ;;
    esac
done >"$tmp/log"
cat "$tmp/log"
n=$(find models examples tests -name '*.dnn' | wc -l) runs=$(wc -l <"$tmp/runs")
bad=$(grep -c '^DIFFERENT' "$tmp/log")
echo "$n files, $runs command lines: $bad gave different output"
[ "$bad" -eq 0 ]
