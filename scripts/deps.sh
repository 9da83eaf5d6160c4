#!/bin/sh
# Installs the Debian packages a make target needs, calling apt-get only for
# what is missing.  Usage: scripts/deps.sh build|check|demo|goldens|bench|fuzz
need=""
want() { # want COMMAND-OR-FILE PACKAGE
    case "$1" in
        /*) [ -e "$1" ] || need="$need $2" ;;
        *)  command -v "$1" >/dev/null 2>&1 || need="$need $2" ;;
    esac
}
want flex flex
want bison bison
want cc gcc
want /usr/include/zlib.h zlib1g-dev
case "$1" in
    goldens) /usr/bin/python3 -c 'import torch' 2>/dev/null || need="$need python3-torch"
             # tests/augment: torchvision's transforms are the oracle of the augmentation
             /usr/bin/python3 -c 'import torchvision' 2>/dev/null || need="$need python3-torchvision" ;;
    check) want clang clang   # the generated C must build warning-free with clang too
           want arm-none-eabi-gcc gcc-arm-none-eabi   # the firmware example (tests/firmware)
           want /usr/lib/arm-none-eabi/newlib/libc.a libnewlib-arm-none-eabi
           want qemu-system-arm qemu-system-arm
           want /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz dataset-fashion-mnist
           want cmake cmake            # tests/cmake, tests/install: dnnc_add_model, find_package(Dnnc)
           want pkg-config pkgconf     # tests/install: dnnrt.pc
           want dot graphviz           # tests/dot: Graphviz must accept --emit=dot
           want rsvg-convert librsvg2-bin      # tests/report: the training curves SVG renders
           # tests/data: .npy files written by np.save, and np.load of dnn_npy_write's
           /usr/bin/python3 -c 'import numpy' 2>/dev/null || need="$need python3-numpy" ;;
    bench) # with goldens' torch: PyTorch is compared in its OpenBLAS configuration (issue 8), not Debian's reference BLAS
           want /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 libopenblas0-pthread
           want perf linux-perf ;;     # bench/layers.sh: LeNet-5's step layer by layer
    fuzz) want clang clang ;;
    onnx2c) # bench/onnx2c: protobuf to build onnx2c (its README), the firmware tools, torch for the twins
           want protoc protobuf-compiler; want /usr/include/google/protobuf/message.h libprotobuf-dev
           want g++ g++; want cmake cmake; want qemu-system-arm qemu-system-arm
           want arm-none-eabi-gcc gcc-arm-none-eabi; want /usr/lib/arm-none-eabi/newlib/libc.a libnewlib-arm-none-eabi
           /usr/bin/python3 -c 'import torch' 2>/dev/null || need="$need python3-torch" ;;
    demo) want /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz dataset-fashion-mnist ;;
esac
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages:$need — install them with: sudo apt-get install$need" >&2
    exit 1
fi
echo "deps: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq $need >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq $need; }
