#!/bin/sh
# Diagnostics suite (language.md §9): every bad program gets exactly the
# expected message, location and caret; dnnc exits 1, writes no output file,
# and never crashes, hangs or reads past its input.
#
#   NAME.dnn + NAME.err    a program and the exact stderr expected with
#                          --color=never; exit 1 when NAME.err holds an
#                          error, else 0 (warnings only: out.c/out.h written)
#   NAME.args              extra dnnc flags, e.g. -Werror
#   valid/NAME.dnn         valid programs: `dnnc --emit=summary -o FILE` exits 0
#                          with empty stderr (or exactly valid/NAME.err) and
#                          the summary in FILE
#
# Then command-line misuse, pathological inputs generated here (deep
# nesting, a 1,000,000-term sum, a 100 MB file, binary files, truncations
# of a valid model), and every case again under the dnnc of `make asan`
# (build/asan/dnnc: -fsanitize=address,undefined).
# Prints "PASS diag/NAME", "FAIL diag/NAME: why" (with a short diff) or
# "SKIP diag/NAME: why". Forks are few on purpose: the suite runs ~400
# compiles and should stay under a minute.
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
here=tests/diag
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
DNNC=${DNNC:-build/dnnc}
CC=${CC:-cc}
LIMIT_S=10          # seconds of CPU per compile (CPU, not wall time: a busy machine must not fail it)
LIMIT_KB=2000000    # virtual memory per compile (not for the sanitizer build)
HANG_S=120          # seconds of wall time: a compile that hangs
TIMEOUT="timeout $HANG_S"; command -v timeout >/dev/null || TIMEOUT=

pass() { echo "PASS diag/$1"; }
fail() { echo "FAIL diag/$1: $2"; }
skip() { echo "SKIP diag/$1: $2"; }
# first lines of the difference between the expected and the actual stderr
show_diff() { diff "$1" "$2" | head -n 8 | cut -c 1-200 | sed 's/^/    /'; }

if [ ! -x "$DNNC" ]; then
    skip all "$DNNC is not built (run make)"
    exit 0
fi
mkdir "$tmp/o"

# run BIN FILE ARGS...: compiles FILE with -o $tmp/o/out.c under the time
# limit (and the memory limit, except for the sanitizer build); stdout to
# $tmp/stdout, stderr to $tmp/stderr, the exit status to $rc.
run() {
    bin=$1 file=$2; shift 2
    if [ "$bin" = "$DNNC" ]; then
        ( ulimit -v $LIMIT_KB 2>/dev/null; ulimit -S -t $LIMIT_S 2>/dev/null; exec $TIMEOUT "$bin" --color=never "$@" "$file" -o "$tmp/o/out.c" ) \
            >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
    else
        ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
            sh -c 'ulimit -S -t $0 2>/dev/null; exec "$@"' $((LIMIT_S * 3)) timeout 300 "$bin" --color=never "$@" \
            "$file" -o "$tmp/o/out.c" >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
    fi
    rc=$?
}

# check WANT: sets $why to what is wrong with the last run's exit status
# (WANT: 0, 1, 2 or "any"), or to ""; $written to "yes" when out.c and out.h
# were written. Output files must not exist after an error; they are removed.
check() {
    why= written= left=
    for f_ in "$tmp/o"/* "$tmp/o"/.??*; do
        [ -e "$f_" ] || continue
        left="$left ${f_##*/}"
        rm -f "$f_"
    done
    case $left in *" out.c"*" out.h"*|*" out.h"*" out.c"*) written=yes;; esac
    if [ $rc -eq 124 ]; then why="still running after ${HANG_S}s"
    elif [ $rc -eq 152 ]; then why="took more than ${LIMIT_S}s of CPU"
    elif [ $rc -ge 128 ]; then why="crashed (signal $((rc - 128)))"
    elif [ $rc -eq 70 ]; then why="internal error: $(grep -m1 'internal error' "$tmp/stderr" | cut -c 1-160)"
    elif [ "$1" != any ] && [ $rc -ne "$1" ]; then why="exit $rc, expected $1"
    elif [ $rc -ne 0 ] && [ -n "$left" ]; then why="left files behind on error:$left"
    fi
}

# caret: sets $why when the first diagnostic's caret is not under the byte
# that its LINE:COL names (in the source line as printed).
caret() {
    why=$(awk -v file="$file" '
        NR == 1 { if (!match($0, /:[0-9]+:[0-9]+: /)) { print "no FILE:LINE:COL on the first line"; exit }
                  split(substr($0, RSTART + 1, RLENGTH - 3), lc, ":"); line = lc[1]; col = lc[2] }
        NR == 2 { shown = $0 }
        NR == 3 { p = index($0, "^")
                  for (i = 1; i <= line && (getline real < file) > 0; i++) ;
                  want = substr(real, col, 1)
                  if (p == 0) print "no caret line"
                  else if (substr(shown, p, 1) != want)
                      printf "caret under \"%s\" (column %d of the line shown), not under \"%s\" (column %d)\n",
                             substr(shown, p, 1), p, want, col
                  exit }' "$tmp/stderr")
}

# ---- the committed cases: exact stderr ---------------------------------------------
errs=" $(grep -l -E '^[^ ]*:[0-9]+:[0-9]+: error: |^dnnc: error' $here/*.err | tr '\n' ' ')"
for f in $here/*.dnn; do
    n=${f##*/}; n=${n%.dnn}
    [ -f "$here/$n.err" ] || { fail "$n" "no $n.err"; continue; }
    args=; [ -f "$here/$n.args" ] && read -r args <"$here/$n.args"
    case $errs in *" $here/$n.err "*) want=1;; *) want=0;; esac
    run "$DNNC" "$f" $args
    check $want
    [ -z "$why" ] && [ $rc -eq 0 ] && [ -z "$written" ] && why="exit 0 but out.c and out.h were not written"
    if [ -n "$why" ]; then
        fail "$n" "$why"; show_diff "$here/$n.err" "$tmp/stderr"
    elif ! cmp -s "$here/$n.err" "$tmp/stderr"; then
        fail "$n" "stderr differs from $n.err (< expected, > got)"; show_diff "$here/$n.err" "$tmp/stderr"
    else
        pass "$n"
    fi
done

# ---- valid programs -------------------------------------------------------------------
for f in $here/valid/*.dnn; do
    n=${f##*/}; n=valid/${n%.dnn}
    expect=$here/$n.err; [ -f "$expect" ] || expect=/dev/null
    run "$DNNC" "$f" --emit=summary
    summary=no; [ -s "$tmp/o/out.c" ] && summary=yes # -o names the summary's file, as gcc -E -o
    check 0
    if [ -n "$why" ]; then
        fail "$n" "$why: $(head -n 1 "$tmp/stderr" | cut -c 1-200)"
    elif ! cmp -s "$expect" "$tmp/stderr"; then
        fail "$n" "unexpected diagnostics: $(head -n 1 "$tmp/stderr" | cut -c 1-200)"
    elif [ $summary = no ] || [ -s "$tmp/stdout" ]; then
        fail "$n" "--emit=summary wrote nothing to -o's file, or something to stdout"
    else
        pass "$n"
    fi
done

# ---- command-line misuse: exit status and exact stderr ------------------------------
ok=$root/$here/warn_unused_value.dnn
cli() { # cli NAME WANT EXPECTED_STDERR ARGS... (run in an empty directory)
    n=cli/$1 want=$2 exp=$3; shift 3
    ( ulimit -v $LIMIT_KB 2>/dev/null; cd "$tmp/o" && exec $TIMEOUT "$root/$DNNC" "$@" ) \
        >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
    rc=$?
    if [ -n "$exp" ]; then printf '%s\n' "$exp"; fi >"$tmp/expected"
    check $want
    if [ -n "$why" ]; then fail "$n" "$why: $(head -n 1 "$tmp/stderr")"
    elif ! cmp -s "$tmp/expected" "$tmp/stderr"; then
        fail "$n" "stderr differs (< expected, > got)"; show_diff "$tmp/expected" "$tmp/stderr"
    else pass "$n"; fi
}
usage="usage: dnnc [options] FILE.dnn   (try 'dnnc --help')"
cli no_file 2 "dnnc: error: no input file
$usage"
cli two_files 2 "dnnc: error: one input file at a time
$usage" "$ok" "$ok"
cli unknown_option 2 "dnnc: error: unknown option '--bogus'
try 'dnnc --help'" --bogus "$ok"
cli unknown_short_option 2 "dnnc: error: unknown option '-x'
try 'dnnc --help'" -x "$ok"
cli unknown_short_option_with_value 2 "dnnc: error: unknown option '-O2'
try 'dnnc --help'" -O2 "$ok"
cli unknown_option_after_known_one 2 "dnnc: error: unknown option '-Wall'
try 'dnnc --help'" "$ok" -Wall
cli unknown_option_in_group 2 "dnnc: error: unknown option '-qx'
try 'dnnc --help'" -qx "$ok"
cli MF_without_argument 2 "dnnc: error: option '-MF' needs an argument
try 'dnnc --help'" "$ok" -MD -MF
cli emit_bogus 2 "dnnc: error: unknown --emit kind 'bogus' (use c, summary, ir, dot, deps, report, report-json or selftest)" --emit=bogus "$ok"
cli color_bogus 2 "dnnc: error: --color takes auto, always or never, not 'sometimes'" --color=sometimes "$ok"
cli o_without_argument 2 "dnnc: error: option '-o' needs an argument
try 'dnnc --help'" "$ok" -o
cli header_without_argument 2 "dnnc: error: option '--header' needs an argument
try 'dnnc --help'" "$ok" --header
cli missing_file 1 "dnnc: error: cannot open 'does_not_exist.dnn': No such file or directory" does_not_exist.dnn
cli directory 1 "dnnc: error: cannot read '$root/$here': Is a directory" "$root/$here"
cli batch_range 2 "dnnc: error: --batch takes a whole number from 1 to 65536, not '65537'" --batch 65537 "$ok"
cli help 0 "" --help
cli version 0 "" --version

# ---- pathological inputs, generated here ------------------------------------------------
# gen NAME: $tmp/NAME.dnn, a model around the statements read from stdin
gen() { { printf 'model m {\n    input x[2];\n    target y[2];\n'; cat; printf '    output h;\n    loss mse(h, y);\n}\n'; } >"$tmp/$1.dnn"; }
rep() { awk -v s="$1" -v n="$2" 'BEGIN { while (n-- > 0) printf "%s", s }'; }
echo "    h = $(rep '(' 10000)x$(rep ')' 10000);" | gen deep_parens
echo "    h = $(rep 'relu(' 10000)x$(rep ')' 10000);" | gen deep_calls
echo "    h = $(rep '-' 10000)x;" | gen unary_minus_10000
echo "    h = x$(rep '+x' 999999);" | gen sum_of_1000000_terms
echo "    h = x$(rep ' |> relu' 100000);" | gen pipe_of_100000_stages
awk 'BEGIN { for (i = 0; i < 50000; i++) printf "    a%d = x + 1;\n", i; print "    h = dense(x, 2);" }' | gen unused_50000
awk 'BEGIN { for (i = 0; i < 50000; i++) printf "    a%d = dense(x, 2) * q%d;\n", i, i; print "    h = dense(x, 2);" }' | gen errors_50000
{ echo "    h = dense(x, 2);"; head -c 100000000 /dev/zero | tr '\0' '#'; echo; } | gen file_of_100mb
{ printf '    h = dense(x, 2);\n    '; rep 'z = x + 1; ' 300000; printf '$\n'; } | gen stray_at_column_3300005
cp "$DNNC" "$tmp/binary_elf.dnn"
[ -f tests/runtime/fixture.safetensors ] && cp tests/runtime/fixture.safetensors "$tmp/binary_safetensors.dnn"

# patho NAME WANT MAX_ERRORS GREP [caret]: compiles $tmp/NAME.dnn; checks the
# exit status, at most MAX_ERRORS errors, that GREP (unless "") matches
# stderr, and with "caret" that the first caret is under the right byte.
patho() {
    n=generated/$1 file=$tmp/$1.dnn
    run "$DNNC" "$file"
    check $2
    errors=$(grep -c -E '^[^ ]*:[0-9]+:[0-9]+: error: ' "$tmp/stderr")
    if [ -z "$why" ] && [ "$errors" -gt "$3" ]; then
        why="$errors errors, expected at most $3; the second: $(grep -E ':[0-9]+:[0-9]+: error: ' "$tmp/stderr" | sed -n 2p | sed 's/^[^:]*://' | cut -c 1-120)"
    fi
    if [ -z "$why" ] && [ -n "$4" ] && ! grep -q -e "$4" "$tmp/stderr"; then
        why="no message matching '$4': $(head -n 1 "$tmp/stderr" | sed 's/^[^:]*://' | cut -c 1-160)"
    fi
    [ -z "$why" ] && [ "$5" = caret ] && caret
    if [ -n "$why" ]; then fail "$n" "$why"; else pass "$n"; fi
}
patho deep_parens 1 1 'nested too deeply' caret
patho deep_calls 1 1 'nested too deeply' caret
patho unary_minus_10000 1 1 'nested too deeply (the limit is' caret
patho sum_of_1000000_terms any 1 '' caret
patho pipe_of_100000_stages any 1 '' caret
# 50,000 warnings from a 1 MB file: 5 seconds is generous
LIMIT_S=5
patho unused_50000 0 0 "warning: 'a49999' is never used"
LIMIT_S=10
patho errors_50000 1 20 'too many errors (20), stopping'
patho file_of_100mb 1 1 'larger than'
patho stray_at_column_3300005 1 1 "stray '\\$'" caret
patho binary_elf 1 20 ''
[ -f "$tmp/binary_safetensors.dnn" ] && patho binary_safetensors 1 20 ''

# truncations BIN STEP: every STEP-th prefix of a valid model gets exit 1
# and no crash (nor a sanitizer message); sets $why to the first problem.
truncations() {
    src=$here/valid/lenet5_spec.dnn
    size=$(wc -c <"$src") i=0 why=
    while [ $i -lt "$size" ]; do
        head -c $i "$src" >"$tmp/cut.dnn"
        run "$1" "$tmp/cut.dnn"
        check 1
        [ -z "$why" ] && [ "$1" != "$DNNC" ] && why=$(grep -m1 -E 'runtime error:|Sanitizer' "$tmp/stderr")
        [ -n "$why" ] && { why="the first $i bytes: $why"; return; }
        i=$((i + $2))
    done
}
truncations "$DNNC" 11
if [ -n "$why" ]; then fail generated/truncations "$why"; else pass generated/truncations; fi

# ---- the same cases under AddressSanitizer and UBSan ----------------------------------
# build/asan/dnnc: `make asan`, shared with tests/sanitize (built once)
asan=build/asan
if ! make -s asan CC="$CC" >"$tmp/asan.log" 2>&1; then
    echo "FAIL diag/asan: cannot build dnnc with -fsanitize=address,undefined: $(grep -m1 -i error "$tmp/asan.log" | cut -c 1-150)"
    exit 0
fi
for f in $here/*.dnn $here/valid/*.dnn "$tmp/deep_parens.dnn" "$tmp/deep_calls.dnn" "$tmp/unary_minus_10000.dnn" \
         "$tmp/binary_elf.dnn" "$tmp/file_of_100mb.dnn" "$tmp/stray_at_column_3300005.dnn"; do
    n=${f##*/}; n=${n%.dnn}; args=
    case $f in
    $here/valid/*) n=valid/$n args=--emit=summary;;
    $tmp/*) n=generated/$n;;
    *) [ -f "$here/$n.args" ] && read -r args <"$here/$n.args";;
    esac
    run "$asan/dnnc" "$f" $args
    check any
    if [ -z "$why" ] && grep -q -E 'runtime error:|ERROR: (Address|Undefined)Sanitizer' "$tmp/stderr"; then
        why=$(grep -m1 -E 'runtime error:|ERROR: (Address|Undefined)Sanitizer' "$tmp/stderr" | cut -c 1-200)
    fi
    if [ -n "$why" ]; then fail "asan/$n" "$why"; else pass "asan/$n"; fi
done
truncations "$asan/dnnc" 41
if [ -n "$why" ]; then fail asan/truncations "$why"; else pass asan/truncations; fi
# leaks, checked once: after a successful compile and after an error
for n in warn_unused_value lenet; do
    ASAN_OPTIONS=detect_leaks=1 timeout 30 "$asan/dnnc" --color=never "$here/$n.dnn" -o "$tmp/o/out.c" \
        >/dev/null 2>"$tmp/stderr" </dev/null
    rm -f "$tmp/o"/*
    if grep -q 'LeakSanitizer' "$tmp/stderr"; then
        fail "asan/leaks_$n" "$(grep -m1 SUMMARY "$tmp/stderr"), allocated at $(grep -m1 -A3 'leak of' "$tmp/stderr" | grep -v -E 'malloc|leak of' | head -n 1 | sed 's/.* in //')"
    else
        pass "asan/leaks_$n"
    fi
done
