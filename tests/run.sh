#!/bin/sh
# Runs every test suite (tests/*/run.sh) and totals their results.
# A suite prints one line per test: "PASS name", "FAIL name: why" or
# "SKIP name: why"; anything else it prints is shown as it is.
# The last line is "N passed, N failed, N skipped"; exit 1 on any failure.
cd "$(dirname "$0")/.." || exit 2
. tests/reference_blas.sh # PyTorch's and NumPy's sums as the goldens were derived, whatever BLAS is installed
log=$(mktemp); trap 'rm -f "$log"' EXIT
for suite in tests/*/run.sh; do
    name=$(basename "$(dirname "$suite")")
    echo "== $name"
    sh "$suite" 2>&1 | tee -a "$log" | grep -v '^PASS '
done
pass=$(grep -c '^PASS ' "$log"); fail=$(grep -c '^FAIL ' "$log"); skip=$(grep -c '^SKIP ' "$log")
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
