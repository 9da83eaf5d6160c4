# tests/pch.sh — sourced by the suites that build every golden case with
# vector flags (golden, inference). Parsing <immintrin.h>, which
# runtime/dnn_vec.h includes with -mavx2, takes gcc about 0.4 s of every
# such compile, about half of it; a precompiled runtime/dnn_kernels.h
# built once per flag set saves that, and gives the same object files
# (checked on every golden case, AVX2 and AVX-512, when this was written).
#
# pch_flags DIR CFLAGS...: builds DIR/dnn_kernels.h.gch with CFLAGS and
# prints the options that make a compile with the same CFLAGS use it; prints
# nothing (the compile parses the headers as before) when $CC is not gcc or
# the build fails. gcc 12 does not keep the kernels' `#pragma GCC
# diagnostic` in a precompiled header, so the options turn off the two
# warnings dnn_kernels.h turns off around the kernels; the generated code is
# still built without them, with every warning, by the suites' plain builds.
pch_flags() {
    pch_dir=$1; shift
    ${CC:-cc} -dM -E - </dev/null 2>/dev/null | grep -q '__clang__' && return 0
    mkdir -p "$pch_dir" &&
        ln -sf "$(pwd)/runtime/dnn_kernels.h" "$pch_dir/dnn_kernels.h" &&
        ${CC:-cc} -std=c99 "$@" -Iruntime -x c-header runtime/dnn_kernels.h -o "$pch_dir/dnn_kernels.h.gch" \
            >/dev/null 2>&1 &&
        echo "-I$pch_dir -include dnn_kernels.h -Winvalid-pch -Wno-array-bounds -Wno-maybe-uninitialized"
}
