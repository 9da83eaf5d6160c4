# tests/reference_blas.sh — sourced by the test scripts that run PyTorch or
# NumPy. Their float sums depend on the BLAS that Debian's alternatives
# select, and libopenblas0 (which `make bench` installs) takes priority over
# the reference BLAS, while the golden files were derived with the reference
# BLAS: found first on LD_LIBRARY_PATH, it is what torch and numpy load.
for dir in /usr/lib/*-linux-gnu/blas /usr/lib/*-linux-gnu/lapack; do
    [ -f "$dir/libblas.so.3" ] || [ -f "$dir/liblapack.so.3" ] || continue
    LD_LIBRARY_PATH=$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
done
export LD_LIBRARY_PATH
# PyTorch's own kernels and oneDNN's convolutions also choose their code by
# the CPU (AVX2 or AVX-512), and their sums differ with it: the goldens were
# derived on an AVX2 machine, so both are held to AVX2 here (on a Zen 5
# with AVX-512 the quant goldens came out other bytes without this).
ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2
export ATEN_CPU_CAPABILITY ONEDNN_MAX_CPU_ISA DNNL_MAX_CPU_ISA
# `python3 -c "$HAS_MODULE" torch` succeeds when torch is installed, without
# importing it (an import costs 2-3 CPU-seconds; a suite only asks whether
# to run or skip the comparisons).
HAS_MODULE='import importlib.util, sys; sys.exit(importlib.util.find_spec(sys.argv[1]) is None)'
export HAS_MODULE
