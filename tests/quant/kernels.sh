#!/bin/sh
# tests/quant/kernels.sh — runtime/dnn_kernels_int8.h against reference.py,
# byte for byte, on every path: kernel_cases.py writes the cases
# (kernel_cases.c; with torch also the MLP and LeNet-5 as torch quantizes
# them), kernels_int8.c runs them, built as
#   plain      gcc -std=c99 -DDNN_PORTABLE
#   plain-fma  clang -DDNN_PORTABLE -mfma -ffp-contract=fast (contraction allowed)
#   avx2       gcc -std=gnu99 -mavx2 -mfma (gcc's GNU default: -ffp-contract=fast)
#   fixed-point gcc -DDNN_Q8_FIXED_POINT (integer requantization): bytes one
#              step from the reference are counted, not failures
#   avx2-clang clang -mavx2
#   avx512vnni gcc -mavx512vnni -mavx512bw (run only where the CPU has them)
#   cortex-m4  arm-none-eabi-gcc, the DSP path (__smlad), hard float, and
#   cortex-m0  plain C, soft float, both run under qemu-system-arm (mps2-an386);
#   cortex-m7, cortex-m33, cortex-m55: compiled only.
# Every build is -Wall -Wextra -Wpedantic -Werror and must select the path
# it names. Prints PASS/FAIL/SKIP lines; needs numpy, not torch.
cd "$(dirname "$0")/../.." || exit 2
. tests/reference_blas.sh # the BLAS the references were derived with; $HAS_MODULE
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    echo "SKIP quant/kernels: /usr/bin/python3 has no numpy"
    exit 0
fi
torch=
/usr/bin/python3 -c "$HAS_MODULE" torch 2>/dev/null && torch=--torch
if ! /usr/bin/python3 tests/quant/kernel_cases.py "$tmp/kernel_cases.c" $torch >"$tmp/log" 2>&1; then
    echo "FAIL quant/kernels: kernel_cases.py failed: $(tail -3 "$tmp/log" | tr '\n' ' ')"
    exit 0
fi
[ -n "$torch" ] || echo "SKIP quant/kernels.torch_stacks: no torch (the MLP and LeNet-5 run as reference.py quantizes them only)"
warn="-Wall -Wextra -Wpedantic -Werror"

# build LABEL PATH OBJ CC FLAGS...: kernels_int8.c with the cases object OBJ
build() {
    label=$1 path=$2 obj=$3
    shift 3
    if ! "$@" $warn -Iruntime -Itests/quant -I examples/firmware -DLABEL="\"$label\"" \
            -DEXPECT_PATH="\"$path\"" -c tests/quant/kernels_int8.c -o "$tmp/$label.o" >"$tmp/log" 2>&1; then
        echo "FAIL quant/kernels.$label: kernels_int8.c does not compile ($*): $(head -3 "$tmp/log" | tr '\n' ' ')"
        return 1
    fi
    [ -z "$obj" ] || [ -e "$obj" ] || "$@" -Itests/quant -c "$tmp/kernel_cases.c" -o "$obj"
}

# host LABEL PATH CC FLAGS...: built and run on this machine
host() {
    label=$1 path=$2
    shift 2
    build "$label" "$path" "$tmp/cases-host.o" "$@" || return
    if "$@" "$tmp/$label.o" "$tmp/cases-host.o" -o "$tmp/$label" >"$tmp/log" 2>&1; then
        "$tmp/$label" || true # prints its PASS or FAIL lines
    else
        echo "FAIL quant/kernels.$label: does not link: $(head -3 "$tmp/log" | tr '\n' ' ')"
    fi
}

if [ "$(uname -m)" = x86_64 ]; then
    host plain plain cc -std=c99 -O2 -DDNN_PORTABLE
    host avx2 avx2 gcc -std=gnu99 -O2 -mavx2 -mfma
    # the integer-only requantization (no FPU): one step off allowed, counted
    host fixed-point plain gcc -std=c99 -O2 -mavx2 -DDNN_Q8_FIXED_POINT -DKERNELS_ONE_STEP
    if command -v clang >/dev/null; then
        host plain-fma plain clang -std=gnu99 -O2 -mfma -ffp-contract=fast -DDNN_PORTABLE
        host avx2-clang avx2 clang -std=c99 -O2 -mavx2
    else
        echo "SKIP quant/kernels.clang: clang is not installed"
    fi
    vnni="gcc -std=gnu99 -O2 -mavx512f -mavx512bw -mavx512vnni"
    if grep -q 'avx512_vnni' /proc/cpuinfo && grep -q 'avx512bw' /proc/cpuinfo; then
        host avx512vnni avx512vnni $vnni
    elif build avx512vnni avx512vnni "" $vnni; then
        echo "SKIP quant/kernels.avx512vnni: this CPU has no avx512_vnni/avx512bw (the path compiles warning-free; not run)"
    fi
else
    host plain plain cc -std=c99 -O2 -DDNN_PORTABLE
fi

if ! command -v arm-none-eabi-gcc >/dev/null; then
    echo "SKIP quant/kernels.arm: arm-none-eabi-gcc is not installed"
    exit 0
fi
# arm LABEL PATH FLAGS...: a firmware for the mps2-an386 run under QEMU
# (examples/firmware's startup, semihosting and linker script)
arm() {
    label=$1 path=$2
    shift 2
    cc="arm-none-eabi-gcc -std=gnu99 -O2 -mthumb $*"
    build "$label" "$path" "$tmp/cases-$label.o" $cc -DKERNELS_SEMIHOST || return
    if ! $cc -Wall -Wextra -Werror -Iexamples/firmware -nostartfiles -T examples/firmware/mps2-an386.ld \
            -Wl,--gc-sections --specs=nano.specs "$tmp/$label.o" "$tmp/cases-$label.o" \
            examples/firmware/startup.c examples/firmware/semihost.c -o "$tmp/$label.elf" >"$tmp/log" 2>&1; then
        echo "FAIL quant/kernels.$label: does not link: $(head -3 "$tmp/log" | tr '\n' ' ')"
        return
    fi
    if ! command -v qemu-system-arm >/dev/null; then
        echo "SKIP quant/kernels.$label: qemu-system-arm is not installed (built, not run)"
        return
    fi
    timeout 300 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$tmp/$label.elf" >"$tmp/out" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL) ' "$tmp/out"
    if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$tmp/out"; then
        echo "FAIL quant/kernels.$label: the firmware exited with $rc: $(tail -3 "$tmp/out" | tr '\n' ' ')"
    fi
}
arm cortex-m4 arm-dsp -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16
arm cortex-m0 plain -mcpu=cortex-m0 -mfloat-abi=soft
built=
for cpu in cortex-m7 cortex-m33 cortex-m55; do
    build $cpu arm-dsp "" arm-none-eabi-gcc -std=gnu99 -O2 -mthumb -mcpu=$cpu -DKERNELS_SEMIHOST && built="$built $cpu"
done
[ "$built" = " cortex-m7 cortex-m33 cortex-m55" ] &&
    echo "PASS quant/kernels.arm_builds (the DSP path compiles warning-free for$built; not run)"
exit 0
