#!/bin/sh
# Gathers the seed corpus of the fuzz targets into DIR (default
# build/fuzz/seeds): DIR/compiler every models/*.dnn, tests/golden/cases/*.dnn
# and tests/diag program; DIR/safetensors the golden cases' weights and a
# few golden files; DIR/data the CSV, IDX (plain and gzip) and .npy files of
# tests/fuzz/seeds/data.
cd "$(dirname "$0")/../.." || exit 2
dir=${1:-build/fuzz/seeds}
rm -rf "$dir" && mkdir -p "$dir/compiler" "$dir/safetensors" "$dir/data" || exit 2
for f in models/*.dnn tests/golden/cases/*.dnn $(find tests/diag -name '*.dnn'); do
    cp "$f" "$dir/compiler/$(echo "$f" | tr / _)"
done
# (not the MLPerf networks' megabytes: libFuzzer parses each input whole, under ASan)
find tests/golden/data -name '*.weights.safetensors' -size -256k -exec cp {} "$dir/safetensors/" \;
for f in bn_dense xor op_dense; do
    cp "tests/golden/data/$f.golden.safetensors" "$dir/safetensors/" 2>/dev/null
done
cp tests/fuzz/seeds/data/* "$dir/data/"
