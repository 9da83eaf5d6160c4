#!/bin/sh
# make install / make uninstall into a DESTDIR: every file in its place; a
# model built and run against the installed tree through pkg-config, with
# dnnrt and with dnnrt-core (the core alone), and a --main training program
# with plain pkg-config --libs dnnrt (zlib included); the installed
# dnnc and man page; find_package(Dnnc) on the example CMake project; the
# example Make project (installed and source tree), whose dnnc -MD rules
# rebuild when the model or the embedded weights change; then uninstall
# leaves nothing but empty directories. Same with LIBDIR moved.
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
fail() { echo "FAIL $1: $(tail -3 "$tmp/log" | tr '\n' ' ')"; }
version=$(sed -n 's/.*DNNC_VERSION "\(.*\)".*/\1/p' compiler/dnnc.h)

if make -s install PREFIX=/usr DESTDIR="$dest" >"$tmp/log" 2>&1; then
    echo "PASS install/make_install"
else
    fail install/make_install
    exit 0
fi

# Every file, with its mode.
missing=""
for f in bin/dnnc:755 lib/libdnnrt.a:644 lib/libdnnrt_core.a:644 lib/pkgconfig/dnnrt.pc:644 \
         lib/pkgconfig/dnnrt-core.pc:644 share/man/man1/dnnc.1:644 \
         lib/cmake/Dnnc/DnncConfig.cmake:644 lib/cmake/Dnnc/DnncConfigVersion.cmake:644 \
         lib/cmake/Dnnc/Dnnc.cmake:644 $(cd runtime && ls *.h | sed 's|^|include/dnn/|; s|$|:644|'); do
    path=$dest/usr/${f%:*}
    if [ ! -f "$path" ] || [ "$(stat -c %a "$path")" != "${f#*:}" ]; then
        missing="$missing ${f%:*}"
    fi
done
if [ -z "$missing" ]; then
    echo "PASS install/files ($(find "$dest" -type f | wc -l) files under /usr)"
else
    echo "FAIL install/files: missing or wrong mode:$missing"
fi
if grep -q "$dest" "$dest"/usr/lib/pkgconfig/*.pc "$dest/usr/lib/cmake/Dnnc/DnncConfig.cmake"; then
    echo "FAIL install/no_destdir_inside: DESTDIR written into the package files"
else
    echo "PASS install/no_destdir_inside"
fi

# The installed compiler.
if [ "$("$dest/usr/bin/dnnc" --version 2>&1)" = "dnnc $version" ]; then
    echo "PASS install/dnnc_version (dnnc $version)"
else
    echo "FAIL install/dnnc_version: $("$dest/usr/bin/dnnc" --version 2>&1)"
fi

# pkg-config: the installed tree only (PKG_CONFIG_LIBDIR), paths under DESTDIR.
export PKG_CONFIG_LIBDIR="$dest/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
if ! command -v pkg-config >/dev/null; then
    echo "SKIP install/pkg_config: pkg-config is not installed (make check installs pkgconf as root)"
else
    flags=$(echo $(pkg-config --cflags --libs dnnrt 2>&1))
    want="-I$dest/usr/include/dnn -L$dest/usr/lib -ldnnrt -lz -lm"
    if [ "$flags" = "$want" ] && [ "$(pkg-config --modversion dnnrt)" = "$version" ]; then
        echo "PASS install/pkg_config ($flags)"
    else
        echo "FAIL install/pkg_config: got '$flags', want '$want'"
    fi
    flags=$(echo $(pkg-config --cflags --libs dnnrt-core 2>&1))
    want="-I$dest/usr/include/dnn -L$dest/usr/lib -ldnnrt_core -lm"
    if [ "$flags" = "$want" ] && [ "$(pkg-config --modversion dnnrt-core)" = "$version" ]; then
        echo "PASS install/pkg_config.core ($flags)"
    else
        echo "FAIL install/pkg_config.core: got '$flags', want '$want'"
    fi
    mkdir -p "$tmp/pc"
    for pc in dnnrt dnnrt-core; do
        if "$dest/usr/bin/dnnc" models/xor.dnn -o "$tmp/pc/xor.c" >"$tmp/log" 2>&1 &&
           ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Werror -I"$tmp/pc" $(pkg-config --cflags $pc) "$tmp/pc/xor.c" \
               examples/xor/train.c $(pkg-config --libs $pc) -o "$tmp/pc/xor" >"$tmp/log" 2>&1 &&
           "$tmp/pc/xor" >"$tmp/log" 2>&1; then
            echo "PASS install/pkg_config.builds_model.$pc ($(head -1 "$tmp/log" | sed 's/  */ /g') ...)"
        else
            fail install/pkg_config.builds_model.$pc
        fi
    done
    # a --main program (zlib for its data readers) links with --libs alone
    if "$dest/usr/bin/dnnc" --main models/xor.dnn -o "$tmp/pc/prog.c" >"$tmp/log" 2>&1 &&
       ${CC:-cc} -std=c99 -O2 $(pkg-config --cflags dnnrt) "$tmp/pc/prog.c" \
           $(pkg-config --libs dnnrt) -o "$tmp/pc/prog" >"$tmp/log" 2>&1 &&
       "$tmp/pc/prog" train examples/xor/xor.csv --quiet --save "$tmp/pc/xor.safetensors" >"$tmp/log" 2>&1 &&
       [ -s "$tmp/pc/xor.safetensors" ]; then
        echo "PASS install/pkg_config.main_program"
    else
        fail install/pkg_config.main_program
    fi
fi

# The man page: renders without warnings, and names this version.
page=$dest/usr/share/man/man1/dnnc.1
if command -v groff >/dev/null; then
    if groff -man -ww -z "$page" >"$tmp/log" 2>&1 && [ ! -s "$tmp/log" ]; then
        echo "PASS install/man.groff_clean"
    else
        fail install/man.groff_clean
    fi
else
    echo "SKIP install/man.groff_clean: groff is not installed"
fi
if command -v man >/dev/null; then
    if MANWIDTH=80 man -l "$page" >"$tmp/out" 2>"$tmp/log" && [ ! -s "$tmp/log" ] &&
       grep -q '^EXIT STATUS' "$tmp/out" && grep -q "dnnc $version" "$tmp/out"; then
        echo "PASS install/man.renders ($(wc -l <"$tmp/out") lines)"
    else
        fail install/man.renders
    fi
else
    echo "SKIP install/man.renders: man is not installed"
fi
# Every option of dnnc --help is in the page.
undocumented=""
for opt in $(build/dnnc --help | sed -n 's/^  \(-[-A-Za-z]*\).*/\1/p; s/^  -h, \(--help\).*/\1/p'); do
    opt=${opt%=*}
    grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" docs/dnnc.1 || undocumented="$undocumented $opt"
done
if [ -z "$undocumented" ]; then
    echo "PASS install/man.every_option"
else
    echo "FAIL install/man.every_option: not in docs/dnnc.1:$undocumented"
fi

# find_package(Dnnc) from the DESTDIR tree (the config finds its prefix from its place).
if command -v cmake >/dev/null; then
    cp -r examples/cmake-project "$tmp/cm"
    if cmake -S "$tmp/cm" -B "$tmp/cmb" -DCMAKE_PREFIX_PATH="$dest/usr" >"$tmp/log" 2>&1 &&
       cmake --build "$tmp/cmb" >>"$tmp/log" 2>&1 && grep -q "$dest/usr/bin/dnnc" "$tmp/cmb/CMakeFiles/xor_model.dir/build.make" &&
       "$tmp/cmb/xor_demo" >"$tmp/log" 2>&1; then
        echo "PASS install/find_package ($(grep '^epoch 2000' "$tmp/log"))"
    else
        fail install/find_package
    fi
    sed 's/find_package(Dnnc 0.1 /find_package(Dnnc 9.0 /' examples/cmake-project/CMakeLists.txt >"$tmp/cm/CMakeLists.txt"
    if ! cmake -S "$tmp/cm" -B "$tmp/cmv" -DCMAKE_PREFIX_PATH="$dest/usr" >"$tmp/log" 2>&1 &&
       grep -q "version: $version" "$tmp/log"; then
        echo "PASS install/find_package.version (0.1 found, 9.0 refused)"
    else
        echo "FAIL install/find_package.version"
    fi
    # Dnnc::dnnrt_core: a program that only runs a model links the core alone.
    mkdir -p "$tmp/cc"
    cat >"$tmp/cc/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.13)
project(xor_core C)
find_package(Dnnc REQUIRED)
add_executable(xor_core xor.c "$root/examples/xor/train.c")
target_include_directories(xor_core PRIVATE "\${CMAKE_CURRENT_SOURCE_DIR}")
target_link_libraries(xor_core PRIVATE Dnnc::dnnrt_core)
EOF
    if "$dest/usr/bin/dnnc" models/xor.dnn -o "$tmp/cc/xor.c" >"$tmp/log" 2>&1 &&
       cmake -S "$tmp/cc" -B "$tmp/ccb" -DCMAKE_PREFIX_PATH="$dest/usr" >"$tmp/log" 2>&1 &&
       cmake --build "$tmp/ccb" >>"$tmp/log" 2>&1 && grep -q 'libdnnrt_core\.a' "$tmp/ccb/CMakeFiles/xor_core.dir/link.txt" &&
       ! grep -q 'libdnnrt\.a' "$tmp/ccb/CMakeFiles/xor_core.dir/link.txt" && "$tmp/ccb/xor_core" >"$tmp/log" 2>&1; then
        echo "PASS install/find_package.core"
    else
        fail install/find_package.core
    fi
else
    echo "SKIP install/find_package: cmake is not installed (make check installs it as root)"
fi

# The example Make project: with the installed dnnc (PATH, pkg-config) and
# from the source tree; dnnc -MD's rules rebuild on a new model or weights.
if command -v pkg-config >/dev/null; then
    cp -r examples/make-project "$tmp/mk"
    if PATH="$dest/usr/bin:$PATH" make -C "$tmp/mk" >"$tmp/log" 2>&1 && grep -q '^dnnc .*-MD' "$tmp/log" &&
       grep -q -- "-I$dest/usr/include/dnn" "$tmp/log" && "$tmp/mk/xor_demo" >"$tmp/log" 2>&1; then
        echo "PASS install/make_project.installed ($(grep '^epoch 2000' "$tmp/log"))"
    else
        fail install/make_project.installed
    fi
fi
cp -r examples/make-project "$tmp/mks"
mk() { make -C "$tmp/mks" DNNC_ROOT="$root" "$@" >"$tmp/log" 2>&1; }
if mk && "$tmp/mks/xor_demo" >/dev/null 2>&1 && mk && ! grep -q 'dnnc' "$tmp/log"; then
    echo "PASS install/make_project.source_tree"
else
    fail install/make_project.source_tree
fi
sed 's/dense(x, 4)/dense(x, 6)/' "$tmp/mks/xor.dnn" >"$tmp/x" && cat "$tmp/x" >"$tmp/mks/xor.dnn"
if mk && grep -q 'XOR_NUM_PARAMS 25' "$tmp/mks/xor.h" && "$tmp/mks/xor_demo" | grep -q '^xor: 25 parameters'; then
    echo "PASS install/make_project.model_changed"
else
    fail install/make_project.model_changed
fi
if build/dnnc --help | grep -q -- '-MD'; then
    cp "$tmp/pc/xor.safetensors" "$tmp/mks/w.safetensors" 2>/dev/null || cp build/examples/xor/xor.safetensors "$tmp/mks/w.safetensors"
    sed 's/dense(x, 6)/dense(x, 4)/' "$tmp/mks/xor.dnn" >"$tmp/x" && cat "$tmp/x" >"$tmp/mks/xor.dnn"
    w="DNNCFLAGS=--inference --embed-weights w.safetensors"
    if mk "$w" xor.c && grep -q 'w.safetensors' "$tmp/mks/xor.d" && mk -q xor.c &&
       sleep 1 && touch "$tmp/mks/w.safetensors" && ! mk -q xor.c && mk "$w" xor.c && grep -q 'embed-weights' "$tmp/log" &&
       rm "$tmp/mks/w.safetensors" && mk xor.c; then
        echo "PASS install/make_project.weights_changed (and removed: -MP)"
    else
        fail install/make_project.weights_changed
    fi
else
    echo "SKIP install/make_project.weights_changed: this dnnc has no -MD"
fi

# uninstall: nothing left but empty directories.
if make -s uninstall PREFIX=/usr DESTDIR="$dest" >"$tmp/log" 2>&1; then
    left=$(find "$dest" ! -type d | sed "s|^$dest||")
    if [ -z "$left" ] && [ ! -d "$dest/usr/include/dnn" ] && [ ! -d "$dest/usr/lib/cmake/Dnnc" ]; then
        echo "PASS install/uninstall"
    else
        echo "FAIL install/uninstall: left$(echo $left | head -c 300)"
    fi
else
    fail install/uninstall
fi

# Another layout: LIBDIR moved (Debian multiarch), a package config 4 levels down.
dest2=$tmp/root2 libdir=/usr/lib/x86_64-linux-gnu
if make -s install PREFIX=/usr LIBDIR=$libdir DESTDIR="$dest2" >"$tmp/log" 2>&1 &&
   grep -q '^libdir=${prefix}/lib/x86_64-linux-gnu$' "$dest2$libdir/pkgconfig/dnnrt.pc" &&
   [ -f "$dest2$libdir/cmake/Dnnc/DnncConfig.cmake" ] && [ -f "$dest2$libdir/libdnnrt.a" ]; then
    ok=1
    if command -v cmake >/dev/null; then
        cp -r examples/cmake-project "$tmp/cm2"
        cmake -S "$tmp/cm2" -B "$tmp/cm2b" -DCMAKE_PREFIX_PATH="$dest2/usr" >"$tmp/log" 2>&1 &&
            cmake --build "$tmp/cm2b" >>"$tmp/log" 2>&1 && "$tmp/cm2b/xor_demo" >/dev/null 2>&1 || ok=0
    fi
    make -s uninstall PREFIX=/usr LIBDIR=$libdir DESTDIR="$dest2" >>"$tmp/log" 2>&1 || ok=0
    [ -z "$(find "$dest2" ! -type d)" ] || ok=0
    if [ $ok = 1 ]; then
        echo "PASS install/libdir_moved"
    else
        fail install/libdir_moved
    fi
else
    fail install/libdir_moved
fi
