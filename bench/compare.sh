#!/bin/sh
# bench/compare.sh [REF] — the speed of the code this tree's dnnc writes
# against the code REF's dnnc writes (default: where this branch left
# main), for models/mlp.dnn and models/lenet5.dnn: bench/harness.c's train
# step (batch 32) and batch-1 inference, each built with `cc -std=c99 -O3
# -march=native`. The programs run interleaved, ROUNDS times (11): old,
# new, then old again as a control (a second binary of the same code), so
# that the old-against-old ratio shows what differences the machine can
# resolve. A row is the median over the rounds of each run's CPU-time
# median per call, and the ratios new / old and old again / old.
#
#   sh bench/compare.sh [REF]        (ROUNDS=N to change the rounds)
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)
ref=${1:-$(git merge-base HEAD main)}
rounds=${ROUNDS:-11}
data=${DATA:-/usr/share/datasets/fashion-mnist}
commit=$(git rev-parse --verify "$ref^{commit}") || exit 2
old=${TMPDIR:-/tmp}/dnnc-same-$commit # shared with scripts/same_output.sh
if [ ! -x "$old/build/dnnc" ] || [ ! -f "$old/build/libdnnrt.a" ]; then
    { [ -d "$old" ] || { mkdir -p "$old" && git archive "$commit" | tar -x -C "$old"; }; } || exit 2
    (cd "$old" && make -j2 build/dnnc build/libdnnrt.a >/dev/null 2>&1) || { echo "cannot build $ref in $old"; exit 2; }
fi
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "compare.sh: no Fashion-MNIST in $data"; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# build SIDE TREE MODEL: the harness of MODEL with TREE's dnnc and runtime, as $tmp/SIDE.MODEL
build() {
    dir=$tmp/src.$1.$3 && mkdir -p "$dir"
    "$2/build/dnnc" -q --prefix train_net "$root/models/$3.dnn" -o "$dir/train_net.c" &&
        "$2/build/dnnc" -q --prefix infer_net --inference "$root/models/$3.dnn" -o "$dir/infer_net.c" &&
        cc -std=c99 -O3 -march=native -I"$root/bench" -I"$2/runtime" -I"$dir" "$root/bench/harness.c" "$dir/train_net.c" \
            "$dir/infer_net.c" "$2/build/libdnnrt.a" -lz -lm -o "$tmp/$1.$3" || { echo "cannot build $1 $3"; exit 2; }
}
for model in mlp lenet5; do
    build old "$old" $model
    build new "$root" $model
    cp "$tmp/old.$model" "$tmp/again.$model"
done

for r in $(seq "$rounds"); do
    for model in mlp lenet5; do
        for side in old new again; do
            "$tmp/$side.$model" "$data/train-images-idx3-ubyte.gz" "$data/train-labels-idx1-ubyte.gz" |
                awk -v s=$side -v m=$model '$1 == "train_step" || $1 == "infer" { print s, m, $1, $2 }' >>"$tmp/runs"
        done
    done
done

echo "# $(git rev-parse --short HEAD) against $(git rev-parse --short "$commit"), $rounds rounds; $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
awk '
function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
    return v[int((n + 1) / 2)]
}
{ t[$1 " " $2 " " $3] = t[$1 " " $2 " " $3] " " $4 }
END {
    printf "%-8s %-11s %12s %12s %12s %9s %12s\n", "model", "row", "old_us", "new_us", "again_us", "new/old", "again/old"
    split("mlp lenet5", models, " "); split("train_step infer", rows, " ")
    for (m = 1; m <= 2; m++) for (r = 1; r <= 2; r++) {
        k = models[m] " " rows[r]
        o = median(t["old " k]); n = median(t["new " k]); a = median(t["again " k])
        printf "%-8s %-11s %12.2f %12.2f %12.2f %9.3f %12.3f\n", models[m], rows[r], o * 1e6, n * 1e6, a * 1e6, n / o, a / o
    }
}' "$tmp/runs"
