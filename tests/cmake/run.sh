#!/bin/sh
# CMake integration (cmake/Dnnc.cmake) from the source tree: the example
# project examples/cmake-project builds and trains, with Makefiles and with
# Ninja; editing the model regenerates the C; dnnc's -MD file feeds DEPFILE;
# dnnc_add_model's INFERENCE, EMBED_WEIGHTS, BATCH and MAIN work and a new
# weights file regenerates the C; the runtime can come from build/ too;
# Dnnc::dnnrt_core links the core alone.
# (tests/install checks find_package(Dnnc) against an installed tree.)
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if ! command -v cmake >/dev/null; then
    echo "SKIP cmake: cmake is not installed (make check installs it as root)"
    exit 0
fi
if [ ! -x build/dnnc ] || [ ! -f build/libdnnrt.a ]; then
    echo "FAIL cmake: build/dnnc or build/libdnnrt.a is missing (run make)"
    exit 0
fi
fail() { echo "FAIL $1: $(tail -3 "$tmp/log" | tr '\n' ' ')"; }

# build NAME SRC BIN [cmake options...]: configure and build, output in $tmp/log
build() {
    name=$1 src=$2 bin=$3; shift 3
    cmake -S "$src" -B "$bin" "$@" >"$tmp/log" 2>&1 && cmake --build "$bin" >>"$tmp/log" 2>&1
}

# 1. The example, from the source tree, with the default generator (Makefiles).
cp -r examples/cmake-project "$tmp/proj"
if build source_tree "$tmp/proj" "$tmp/b1" -DDNNC_ROOT="$root" &&
   "$tmp/b1/xor_demo" >"$tmp/log" 2>&1; then
    echo "PASS cmake/example.trains ($(grep '^epoch 2000' "$tmp/log"))"
else
    fail cmake/example.trains
fi

# 2. A rebuild with nothing changed does not run dnnc; editing the model
#    (hidden layer 4 -> 8) does, and the program sees the new header.
cmake --build "$tmp/b1" >"$tmp/log" 2>&1
if grep -q 'dnnc xor.dnn' "$tmp/log"; then
    fail "cmake/no_change.no_dnnc: dnnc ran again"
else
    echo "PASS cmake/no_change.no_dnnc"
fi
cp "$tmp/b1/xor.h" "$tmp/xor.h.before"
sed 's/dense(x, 4)/dense(x, 8)/' "$tmp/proj/xor.dnn" >"$tmp/xor.dnn" && cp "$tmp/xor.dnn" "$tmp/proj/xor.dnn"
touch "$tmp/proj/xor.dnn"
if cmake --build "$tmp/b1" >"$tmp/log" 2>&1 && ! cmp -s "$tmp/xor.h.before" "$tmp/b1/xor.h" &&
   grep -q 'XOR_NUM_PARAMS 33' "$tmp/b1/xor.h" && "$tmp/b1/xor_demo" >"$tmp/out" 2>&1 &&
   grep -q '^xor: 33 parameters' "$tmp/out"; then
    echo "PASS cmake/model_changed.regenerates (17 -> 33 parameters)"
else
    fail cmake/model_changed.regenerates
fi

# 3. dnnc's dependency file: used when dnnc has -MD and CMake >= 3.20.
if build/dnnc --help | grep -q -- '-MD'; then
    if [ -s "$tmp/b1/xor.d" ] && grep -q 'xor.dnn' "$tmp/b1/xor.d"; then
        echo "PASS cmake/depfile (dnnc -MD -MF xor.d)"
    else
        echo "FAIL cmake/depfile: no xor.d in the build directory"
    fi
else
    echo "SKIP cmake/depfile: this dnnc has no -MD"
fi

# 4. Ninja: builds, and touching the model rebuilds.
if command -v ninja >/dev/null; then
    cp -r examples/cmake-project "$tmp/projn"
    if build ninja "$tmp/projn" "$tmp/bn" -G Ninja -DDNNC_ROOT="$root" && "$tmp/bn/xor_demo" >/dev/null 2>&1 &&
       touch "$tmp/projn/xor.dnn" && cmake --build "$tmp/bn" >"$tmp/log" 2>&1 && grep -q 'dnnc xor.dnn' "$tmp/log" &&
       cmake --build "$tmp/bn" >"$tmp/log" 2>&1 && grep -q 'no work to do' "$tmp/log"; then
        echo "PASS cmake/ninja.rebuilds"
    else
        fail cmake/ninja.rebuilds
    fi
else
    echo "SKIP cmake/ninja.rebuilds: ninja is not installed"
fi

# 5. MAIN (a training program), then INFERENCE + EMBED_WEIGHTS + BATCH with
#    the weights it wrote; new weights regenerate the C.
mkdir -p "$tmp/opt"
cp models/xor.dnn examples/xor/xor.csv "$tmp/opt/"
cat >"$tmp/opt/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(options C)
include("${DNNC_ROOT}/cmake/Dnnc.cmake")
dnnc_add_model(xor_train xor.dnn MAIN)
if(WEIGHTS)
    add_subdirectory(fw)
endif()
EOF
mkdir -p "$tmp/opt/fw"
cat >"$tmp/opt/fw/CMakeLists.txt" <<'EOF'
dnnc_add_model(xor_fw ../xor.dnn INFERENCE EMBED_WEIGHTS "${WEIGHTS}" BATCH 4 OPTIONS --optimize=size)
add_executable(fw fw.c)
target_link_libraries(fw PRIVATE xor_fw)
EOF
cat >"$tmp/opt/fw/fw.c" <<'EOF'
#include <stdio.h>
#include "xor.h"
int main(void) {
    static xor_model m;
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    float out[4];
    xor_init(&m, 0);
    xor_forward(&m, x, out, XOR_BATCH);
    for (int i = 0; i < 4; i++)
        printf("%.0f", out[i]);
    printf("\n");
    return 0;
}
EOF
if build main "$tmp/opt" "$tmp/bo" -DDNNC_ROOT="$root" &&
   "$tmp/bo/xor_train" train "$tmp/opt/xor.csv" --quiet --save "$tmp/w.safetensors" >>"$tmp/log" 2>&1; then
    echo "PASS cmake/main.trains"
else
    fail cmake/main.trains
fi
if build fw "$tmp/opt" "$tmp/bo" -DDNNC_ROOT="$root" -DWEIGHTS="$tmp/w.safetensors" &&
   grep -q 'XOR_BATCH 4' "$tmp/bo/fw/xor.h" && ! grep -q 'xor_train_step' "$tmp/bo/fw/xor.h" &&
   [ "$("$tmp/bo/fw/fw")" = 0110 ]; then
    echo "PASS cmake/inference.embedded_weights (prints 0110)"
else
    fail cmake/inference.embedded_weights
fi
cp "$tmp/bo/fw/xor.c" "$tmp/fw.c.before"
"$tmp/bo/xor_train" train "$tmp/opt/xor.csv" --quiet --epochs 50 --save "$tmp/w.safetensors" >"$tmp/log" 2>&1
if cmake --build "$tmp/bo" >"$tmp/log" 2>&1 && ! cmp -s "$tmp/fw.c.before" "$tmp/bo/fw/xor.c"; then
    echo "PASS cmake/weights_changed.regenerates"
else
    fail cmake/weights_changed.regenerates
fi

# 6. The runtime as built by make (DNNC_RUNTIME_DIR=build), the compiler named.
cp -r examples/cmake-project "$tmp/projb"
if build prebuilt "$tmp/projb" "$tmp/bb" -DDNNC_ROOT="$root" -DDNNC_RUNTIME_DIR="$root/build" \
       -DDNNC_EXECUTABLE="$root/build/dnnc" && "$tmp/bb/xor_demo" >/dev/null 2>&1 &&
   ! grep -q dnnc_runtime "$tmp/log"; then
    echo "PASS cmake/prebuilt_runtime"
else
    fail cmake/prebuilt_runtime
fi

# 7. Dnnc::dnnrt_core, the freestanding core alone, from the sources and
# from build/: a program that only runs a model links nothing else.
mkdir -p "$tmp/core"
build/dnnc models/xor.dnn -o "$tmp/core/xor.c"
cat >"$tmp/core/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.13)
project(xor_core C)
include("$root/cmake/Dnnc.cmake")
dnnc_add_model(unused "$root/models/xor.dnn")   # makes the runtime targets
add_executable(xor_core xor.c "$root/examples/xor/train.c")
target_include_directories(xor_core PRIVATE "\${CMAKE_CURRENT_SOURCE_DIR}")
target_link_libraries(xor_core PRIVATE Dnnc::dnnrt_core)
EOF
for from in sources build; do
    dir=$root/runtime; [ $from = build ] && dir=$root/build
    if build core_$from "$tmp/core" "$tmp/bc_$from" -DDNNC_RUNTIME_DIR="$dir" &&
       grep -q 'libdnnrt_core\.a' "$tmp/bc_$from/CMakeFiles/xor_core.dir/link.txt" &&
       ! grep -q 'libdnnrt\.a' "$tmp/bc_$from/CMakeFiles/xor_core.dir/link.txt" &&
       "$tmp/bc_$from/xor_core" >"$tmp/log" 2>&1; then
        echo "PASS cmake/core_only.$from"
    else
        fail cmake/core_only.$from
    fi
done
