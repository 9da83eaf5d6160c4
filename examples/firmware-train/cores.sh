# examples/firmware-train/cores.sh — the Cortex-M cores the example runs on
# under QEMU, sourced by build.sh and tests/firmware-train/run.sh:
# `core_settings CORE` sets cpu (arm-none-eabi-gcc's flags), board (QEMU's
# -M), ld (the linker script in this folder) and name, or returns 1.
cores="m3 m4 m7 m33 m55"
core_settings() {
    case $1 in
        m3)  cpu="-mcpu=cortex-m3 -mfloat-abi=soft" board=mps2-an385 ld=mps2.ld name=Cortex-M3 ;;
        m4)  cpu="-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16" board=mps2-an386 ld=mps2.ld name=Cortex-M4 ;;
        m7)  cpu="-mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-d16" board=mps2-an500 ld=mps2.ld name=Cortex-M7 ;;
        m33) cpu="-mcpu=cortex-m33 -mfloat-abi=hard -mfpu=fpv5-sp-d16" board=mps2-an505 ld=mps2-an505.ld name=Cortex-M33 ;;
        m55) cpu="-mcpu=cortex-m55 -mfloat-abi=hard" board=mps3-an547 ld=mps3-an547.ld name=Cortex-M55 ;;
        *)   return 1 ;;
    esac
}
