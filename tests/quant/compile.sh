#!/bin/sh
# tests/quant/compile.sh — dnnc --quantize=int8 end to end: the MLP,
# LeNet-5, the residual block (batchnorms folded, adds) and the
# depthwise-separable block of models.py (as mlp.dnn, lenet5.dnn,
# residual.dnn and depthwise.dnn here), their float weights
# and 128 calibration samples made by compile_case.py, compiled with
#   dnnc --inference --quantize=int8 --calibrate cal.safetensors
#        --embed-weights w.safetensors CASE.dnn -o m.c
# (gcc -Wall -Wextra -Wpedantic -Werror) and run on 32 samples by
# compile_driver.c; compile_case.py check compares the uint8 outputs with
# PyTorch's qnnpack model's (1 % may be one step apart: dnnc's calibration
# pass sums in its own order) and NAME_save's int8 weights and weight
# scales with torch's, bit for bit; and the C compiles for a Cortex-M4
# (arm-none-eabi-gcc, when installed). Prints PASS/FAIL/SKIP lines.
cd "$(dirname "$0")/../.." || exit 2
. tests/reference_blas.sh # torch as the goldens were derived, whatever BLAS is installed
build=${BUILD:-build}
if ! /usr/bin/python3 -c "$HAS_MODULE" torch 2>/dev/null; then
    echo "SKIP quant/compile: /usr/bin/python3 has no torch (python3-torch)"
    exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for case_in in mlp:784 lenet5:784 residual:768 depthwise_separable:768; do
    case=${case_in%:*}
    d="$tmp/$case"
    mkdir -p "$d"
    if ! /usr/bin/python3 tests/quant/compile_case.py make $case "$d" >"$d/log" 2>&1; then
        echo "FAIL quant/compile.$case: compile_case.py make failed: $(tail -3 "$d/log" | tr '\n' ' ')"
        continue
    fi
    if ! "$build/dnnc" --inference --quantize=int8 --calibrate "$d/cal.safetensors" --embed-weights "$d/w.safetensors" \
            tests/quant/"$(cat "$d/dnn")" -o "$d/m.c" >"$d/log" 2>&1; then
        echo "FAIL quant/compile.$case: dnnc failed: $(head -3 "$d/log" | tr '\n' ' ')"
        continue
    fi
    if ! gcc -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -DMODEL=$case -DUPPER="$(echo $case | tr a-z A-Z)" -DIN=${case_in#*:} -DHEADER='"m.h"' -I"$d" -Iruntime \
            tests/quant/compile_driver.c "$d/m.c" -L"$build" -ldnnrt -lm -o "$d/run" >"$d/log" 2>&1; then
        echo "FAIL quant/compile.$case: the generated C does not compile: $(head -3 "$d/log" | tr '\n' ' ')"
        continue
    fi
    if ! "$d/run" "$d/x.f32" "$d/out.f32" "$d/saved.safetensors"; then
        echo "FAIL quant/compile.$case: the model did not run"
        continue
    fi
    /usr/bin/python3 tests/quant/compile_case.py check $case "$d"
    # the same C for a Cortex-M4 (the kernels' DSP path), freestanding: it compiles warning-free
    if command -v arm-none-eabi-gcc >/dev/null; then
        if arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -std=c99 -ffreestanding \
                -Wall -Wextra -Wpedantic -Werror -I"$d" -Iruntime -c "$d/m.c" -o "$d/m.o" >"$d/log" 2>&1; then
            echo "PASS quant/compile.$case.cortex_m4 ($(arm-none-eabi-size "$d/m.o" | awk 'NR == 2 { print $1 }') bytes of code and constants)"
        else
            echo "FAIL quant/compile.$case.cortex_m4: $(head -3 "$d/log" | tr '\n' ' ')"
        fi
    fi
done
