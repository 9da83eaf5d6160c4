#!/bin/sh
# XOR: the 2-4-1 sigmoid network trained from xor.csv by its generated
# training program, then asked for the four cases.
set -e
cd "$(dirname "$0")/../.."
out=build/examples/xor
xor=$(sh examples/program.sh models/xor.dnn $out)
$xor train examples/xor/xor.csv --save $out/xor.safetensors
$xor predict examples/xor/xor.csv --weights $out/xor.safetensors
