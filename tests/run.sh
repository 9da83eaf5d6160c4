#!/bin/sh
# Runs every test suite (tests/*/run.sh) and totals their results.
# A suite prints one line per test: "PASS name", "FAIL name: why" or
# "SKIP name: why"; anything else it prints is shown as it is, under the
# suite's name, when the suite ends.
# The last line is "N passed, N failed, N skipped"; exit 1 on any failure.
#
# With two or more cores the suites run in two lanes at once (TEST_LANES=1:
# one after the other): most of a suite is one process at a time (QEMU, a
# compile, a Python script), so a second lane halves `make check`'s time.
# LANE_A's suites run in order in one lane, the others in the second:
# suites that share a directory of build/ (firmware and firmware-train:
# build/icount/) sit in the same lane, and the larger suites are split
# between the lanes so that both end at about the same time.
cd "$(dirname "$0")/.." || exit 2
. tests/reference_blas.sh # PyTorch's and NumPy's sums as the goldens were derived, whatever BLAS is installed
LANE_A="firmware-train firmware golden gradcheck quant sanitize"
logs=$(mktemp -d); trap 'rm -rf "$logs"' EXIT

# suite NAME: runs tests/NAME/run.sh into $logs/NAME.out, then shows its
# name, its wall time and every line that is not a PASS, in one write
suite() {
    start=$(date +%s)
    sh "tests/$1/run.sh" >"$logs/$1.out" 2>&1
    { echo "== $1 ($(($(date +%s) - start)) s)"; grep -v '^PASS ' "$logs/$1.out"; } >"$logs/$1.shown"
    cat "$logs/$1.shown"
}
all=$(for s in tests/*/run.sh; do basename "$(dirname "$s")"; done)
lanes=${TEST_LANES:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
if [ "$lanes" -ge 2 ]; then
    # the sanitizer builds several suites link against, made once before the lanes share them
    make -s build/asan/dnnc build/asan/libdnnrt.a >"$logs/asan.log" 2>&1 || cat "$logs/asan.log"
    a="" b=""
    for s in $all; do
        case " $LANE_A " in *" $s "*) a="$a $s" ;; *) b="$b $s" ;; esac
    done
    (for s in $a; do suite "$s"; done) &
    for s in $b; do suite "$s"; done
    wait
else
    for s in $all; do suite "$s"; done
fi
count() { cat "$logs"/*.out | grep -c "^$1 "; }
pass=$(count PASS); fail=$(count FAIL); skip=$(count SKIP)
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
