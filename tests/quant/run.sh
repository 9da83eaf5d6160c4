#!/bin/sh
# tests/quant/run.sh — reference.py (PyTorch 1.13's int8 and fake-quant
# arithmetic in NumPy) against torch itself, value for value: every op and
# stack of check_reference.py, the QAT checks of check_qat.py (README.md);
# first the C kernels of runtime/dnn_kernels_int8.h against reference.py on
# every path (kernels.sh, which needs no torch); quantization-aware training
# against PyTorch's QAT (qat.sh); last, dnnc --quantize=int8
# end to end on the MLP and LeNet-5 (compile.sh).
# Prints "PASS quant/..." or "FAIL quant/...: why" lines, and a failing
# script's whole output; "SKIP quant: ..." when /usr/bin/python3 has no
# torch (make goldens installs python3-torch).
cd "$(dirname "$0")" || exit 2
. ../reference_blas.sh # torch as the goldens were derived, whatever BLAS is installed
sh ./kernels.sh
sh ./golden.sh   # dnnc --quantize=int8 against PyTorch's int8 models (mlp, lenet5 need torch)
sh ./qat.sh      # `quantize int8;` training against PyTorch's QAT
if ! /usr/bin/python3 -c "$HAS_MODULE" torch 2>/dev/null; then
    echo "SKIP quant: /usr/bin/python3 has no torch (python3-torch)"
    exit 0
fi
log=$(mktemp); trap 'rm -f "$log"' EXIT
for script in check_reference check_qat; do
    /usr/bin/python3 $script.py >"$log" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL) ' "$log"
    if [ $rc -ne 0 ]; then
        grep -v -E '^(PASS|FAIL) ' "$log"
        grep -q '^FAIL ' "$log" || echo "FAIL quant/$script: exited with $rc"
    fi
done
sh ./compile.sh
