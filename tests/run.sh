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
# Each lane takes the next suite no lane has claimed yet, longest first
# (LONGEST: by their wall times in CI, fresh clone of c29086a), so that both
# lanes end at about the same time. Suites that share a directory of build/ run one after the other
# as one item: firmware-train+firmware (build/icount/).
cd "$(dirname "$0")/.." || exit 2
. tests/reference_blas.sh # PyTorch's and NumPy's sums as the goldens were derived, whatever BLAS is installed
LONGEST="firmware-train+firmware golden inference sanitize quant fuzz program gradcheck kernels memory augment diag cmake examples"
logs=$(mktemp -d); trap 'rm -rf "$logs"' EXIT

# suite NAME: runs tests/NAME/run.sh into $logs/NAME.out, then shows its
# name, its wall time, its CPU time (user + system of every process it
# waited for: what it costs on a machine with other work) and every line that is not a
# PASS, in one write
suite() {
    start=$(date +%s)
    [ -f "tests/$1/run.sh" ] || { echo "FAIL run: no suite tests/$1 (LONGEST in tests/run.sh)" | tee "$logs/$1.out"; return; }
    cpu=$( (sh "tests/$1/run.sh" >"$logs/$1.out" 2>&1; times) | awk 'END {
        for (i = 1; i <= 2; i++) { split($i, t, "m"); s += t[1] * 60 + t[2] } printf "%.0f", s }')
    { echo "== $1 ($(($(date +%s) - start)) s, CPU $cpu s)"; grep -v '^PASS ' "$logs/$1.out"; } >"$logs/$1.shown"
    cat "$logs/$1.shown"
}
all=$(for s in tests/*/run.sh; do basename "$(dirname "$s")"; done)
queue=$LONGEST longest=" $(echo $LONGEST | tr + ' ') "
for s in $all; do
    case $longest in *" $s "*) ;; *) queue="$queue $s" ;; esac
done
# lane: runs every item of the queue that it claims first (mkdir is atomic)
lane() {
    for item in $queue; do
        mkdir "$logs/claimed.$item" 2>/dev/null || continue
        for s in $(echo "$item" | tr + ' '); do suite "$s"; done
    done
}
lanes=${TEST_LANES:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
[ "$lanes" -ge 2 ] && lanes=2
began=$(date +%s)
if [ "$lanes" -ge 2 ]; then
    # the sanitizer builds several suites link against, made once before the lanes share them
    make -s build/asan/dnnc build/asan/libdnnrt.a >"$logs/asan.log" 2>&1 || cat "$logs/asan.log"
    lane &
    lane
    wait
else
    lane
fi
echo "== all suites: $(($(date +%s) - began)) s on $lanes lane(s)"
count() { cat "$logs"/*.out | grep -c "^$1 "; }
pass=$(count PASS); fail=$(count FAIL); skip=$(count SKIP)
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
