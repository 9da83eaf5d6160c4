# tests/clang_check.sh — sourced by the suites that check many generated C
# files with clang (golden, inference, quant): the generated C must be warning-free
# under clang too (generated-c.md), which warns where gcc does not (e.g.
# -Wunused-but-set-variable on `x += ...`).
#
# clang_check PREFIX FILE.c...: prints "PASS PREFIX/NAME clang" for each
# FILE (NAME: its name without .c) that clang -fsyntax-only accepts with
# every warning an error, else "FAIL PREFIX/NAME clang: its first error".
# The files go through one clang run, a file that #includes each of them:
# clang's start (about 0.12 s: its libraries' relocations) is most of a
# small file's check. They must be different models (a model's names all
# start with its own), so nothing clashes; when that run fails, each file
# is checked alone, which tells which. Prints nothing without clang or with
# NO_CLANG set. CLANG_RUNTIME: the runtime/ to include (default runtime).
clang_check() {
    prefix=$1; shift
    [ $# -gt 0 ] && [ -z "$NO_CLANG" ] && command -v clang >/dev/null 2>&1 || return 0
    unity=$(mktemp -d) || return 0
    for f; do echo "#include \"$(cd "$(dirname "$f")" && pwd)/$(basename "$f")\""; done >"$unity/all.c"
    if clang_one "$unity/all.c" "$unity/err"; then
        for f; do echo "PASS $prefix/$(basename "$f" .c) clang"; done
    else
        for f; do
            if clang_one "$f" "$unity/err"; then
                echo "PASS $prefix/$(basename "$f" .c) clang"
            else
                echo "FAIL $prefix/$(basename "$f" .c) clang: $(grep -m1 'error' "$unity/err" || head -n1 "$unity/err")"
            fi
        done
    fi
    rm -rf "$unity"
}

# clang_one FILE ERR: clang's check of FILE, its messages in ERR
clang_one() {
    clang -std=c99 -Wall -Wextra -Wpedantic -Werror -ferror-limit=0 -fsyntax-only -I"${CLANG_RUNTIME:-runtime}" "$1" >"$2" 2>&1
}
