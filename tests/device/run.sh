#!/bin/sh
# tests/device/run.sh — training code for firmware (--embed-weights without
# --inference; generated-c.md "Training on the device"):
#   same_as_host.MODEL: 50 train steps of the embedded build (updates fused
#     into the backward pass, dense weight gradients a block of rows at a
#     time) give the same bits as the host build (--optimize=size, the same
#     kernels, gradients whole, NAME_step after) started from the same
#     weights, frozen tensors untouched in flash: every optimizer;
#   report.MODEL: --emit=report's "RAM of the model" is sizeof(NAME_model),
#     and the flash lines are the frozen and the initial weights;
#   state.MODEL: NAME_save keeps only the tensors in RAM, NAME_load reads
#     them back (and refuses another model's, leaving the model as it was);
#   cortex_m4: the embedded build compiles warning-free, freestanding, for a
#     Cortex-M4 at -Os;
#   ram_limit.*: --ram-limit's error at the model's name, nothing written;
#   buffers_absent: a weights file without batchnorm's running statistics.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS device/$1"; }
fail() { echo "FAIL device/$1: $2"; }
data=tests/golden/data

# LeNet-5 with its convolutions and first dense layer frozen, SGD with momentum, batch 4
sed 's/    train {/    freeze features.0.weight, features.0.bias, features.3.weight, features.3.bias, classifier.1.weight;\n\n    train {/;
     s/optimizer adam(lr = 1e-3);/optimizer sgd(lr = 0.01, momentum = 0.9);/; s/batch 8;/batch 4;/' \
    tests/golden/cases/lenet5.dnn >"$tmp/lenet5.dnn"
# the biases and the last layer (TinyTL), batch 1; the last two dense layers with Adam
sed 's/^    freeze .*/    freeze features.*.weight, classifier.1.weight, classifier.3.weight;/; s/batch 4;/batch 1;/' "$tmp/lenet5.dnn" >"$tmp/lenet5_tinytl.dnn"
sed 's/^    freeze .*/    freeze features.*, classifier.1.*;/; s/optimizer sgd(.*/optimizer adam(lr = 1e-3, weight_decay = 1e-4);/' \
    "$tmp/lenet5.dnn" >"$tmp/lenet5_adam.dnn"
# conv -> relu -> maxpool whose backward recomputes the maxima: bias only (TinyTL, batch 4), and whole
# convolutions trained (the conv's output gradient from the fused step)
sed 's/^    freeze .*/    freeze features.*.weight, classifier.1.weight, classifier.3.weight;/' "$tmp/lenet5.dnn" >"$tmp/lenet5_tinytl4.dnn"
sed 's/^    freeze .*/    freeze classifier.1.weight;/' "$tmp/lenet5.dnn" >"$tmp/lenet5_convs.dnn"
# a dense net with batchnorm (buffers in RAM) and its first layer frozen
sed 's/    train {/    freeze out.0.weight, out.0.bias;\n\n    train {/' tests/golden/cases/bn_dense.dnn >"$tmp/bn_dense.dnn"

# driver MODEL INPUT TARGET_TYPE: dev_* (embedded) against host_* (loaded), 20 steps on fixed data
driver() {
    cat <<EOF
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "dev.h"
#include "host.h"
static dev_model d, d2;
static host_model h;
static unsigned char buf[1 << 20];
int main(void) {
    dev_init(&d, 1);
    host_init(&h, 1);
    for (int i = 0; i < HOST_NUM_TENSORS; i++) /* the host starts from the embedded weights */
        memcpy(host_tensor(&h, i), dev_tensor(&d, i), sizeof(float) * host_tensors[i].size);
    static float x[DEV_BATCH * DEV_X_SIZE];
    static $3 y[DEV_BATCH * DEV_Y_SIZE];
    unsigned r = 7;
    for (int step = 0; step < 50; step++) {
        for (int i = 0; i < DEV_BATCH * DEV_X_SIZE; i++) { r = r * 1664525u + 1013904223u; x[i] = (float)(r >> 8) / 16777216.0f; }
        for (int i = 0; i < DEV_BATCH * DEV_Y_SIZE; i++) { r = r * 1664525u + 1013904223u; y[i] = ($3)((r >> 8) % 10); }
        float ld = dev_train_step(&d, x, y, DEV_BATCH), lh = host_train_step(&h, x, y, DEV_BATCH);
        if (memcmp(&ld, &lh, sizeof ld)) { printf("step %d: loss %a, host %a\n", step, ld, lh); return 1; }
    }
    for (int i = 0; i < HOST_NUM_TENSORS; i++)
        if (memcmp(host_tensor(&h, i), dev_tensor(&d, i), sizeof(float) * host_tensors[i].size)) {
            printf("tensor %s differs from the host's\n", host_tensors[i].name);
            return 1;
        }
    for (int i = 0; i < DEV_NUM_TENSORS; i++)
        if (!dev_tensors[i].trainable && !strstr(dev_tensors[i].name, "running") && !strstr(dev_tensors[i].name, "batches") &&
            (uintptr_t)dev_tensor(&d, i) - (uintptr_t)dev_weights >= sizeof dev_weights)
            printf("frozen %s is not in dev_weights\n", dev_tensors[i].name);
    size_t len = dev_save(&d, buf, sizeof buf);
    dev_init(&d2, 1);
    int rc = dev_load(&d2, buf, len);
    printf("sizeof %zu\nstate %zu bytes, load %d, same %d\n", sizeof d, len, rc, !memcmp(d2.params, d.params, sizeof d.params));
    memcpy(buf + 9, "xx", 2); /* another header: refused, the model unchanged */
    rc = dev_load(&d2, buf, len);
    printf("bad load %s, unchanged %d\n", rc < 0 ? "refused" : "accepted", !memcmp(d2.params, d.params, sizeof d.params));
    return 0;
}
EOF
}

# check NAME WEIGHTS TARGET_TYPE
check() {
    name=$1 w=$2
    sed 's/input  x/input  x/' "$tmp/$name.dnn" >/dev/null
    if ! build/dnnc -q --prefix dev --embed-weights "$w" "$tmp/$name.dnn" -o "$tmp/dev.c" 2>"$tmp/err" ||
        ! build/dnnc -q --prefix host --optimize=size "$tmp/$name.dnn" -o "$tmp/host.c" 2>>"$tmp/err"; then
        fail "same_as_host.$name" "dnnc: $(head -n 3 "$tmp/err" | tr '\n' ' ')"
        return
    fi
    driver "$name" x "$3" >"$tmp/drive.c"
    if ! cc -std=c99 -O2 -ffp-contract=off -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$tmp" "$tmp/drive.c" "$tmp/dev.c" \
        "$tmp/host.c" build/libdnnrt_core.a -lm -o "$tmp/drive" 2>"$tmp/err"; then
        fail "same_as_host.$name" "cc: $(head -n 3 "$tmp/err" | tr '\n' ' ')"
        return
    fi
    if "$tmp/drive" >"$tmp/out" 2>&1 && ! grep -q "not in" "$tmp/out"; then
        pass "same_as_host.$name"
    else
        fail "same_as_host.$name" "$(head -n 3 "$tmp/out" | tr '\n' ' ')"
    fi
    size=$(sed -n 's/^sizeof //p' "$tmp/out")
    build/dnnc --emit=report --embed-weights "$w" "$tmp/$name.dnn" >"$tmp/report"
    ram=$(sed -n 's/^RAM of the model: \([0-9]*\) bytes$/\1/p' "$tmp/report")
    parts=$(awk '/^RAM of the model/ { on = 1; next } on && /^  / { s += $(NF - 1) } END { print s + 0 }' "$tmp/report")
    frozen=$(sed -n 's/^frozen weights: \([0-9]*\) bytes$/\1/p' "$tmp/report")
    initial=$(sed -n 's/^initial weights: \([0-9]*\) bytes$/\1/p' "$tmp/report")
    flash=$(grep -o 'dev_weights\[[0-9]*\]' "$tmp/dev.h" | head -n 1 | tr -dc 0-9)
    if [ -n "$size" ] && [ "$ram" = "$size" ] && [ "$parts" = "$size" ] && [ $((frozen + initial)) -eq $((flash * 4)) ]; then
        pass "report.$name"
    else
        fail "report.$name" "sizeof $size, report $ram (parts $parts), flash $frozen + $initial of $((flash * 4))"
    fi
    if grep -q "^state [0-9]* bytes, load 0, same 1$" "$tmp/out" && grep -q "^bad load refused, unchanged 1$" "$tmp/out"; then
        pass "state.$name"
    else
        fail "state.$name" "$(tail -n 2 "$tmp/out" | tr '\n' ' ')"
    fi
}
check lenet5 "$data/lenet5.weights.safetensors" int32_t
check bn_dense "$data/bn_dense.weights.safetensors" float
check lenet5_tinytl "$data/lenet5.weights.safetensors" int32_t
check lenet5_adam "$data/lenet5.weights.safetensors" int32_t
check lenet5_tinytl4 "$data/lenet5.weights.safetensors" int32_t
check lenet5_convs "$data/lenet5.weights.safetensors" int32_t
for opt in opt_sgd opt_sgd_momentum opt_sgd_dampening opt_adamw opt_adagrad opt_rmsprop_momentum; do
    cp tests/golden/cases/$opt.dnn "$tmp/$opt.dnn"
    check $opt "$data/$opt.weights.safetensors" float
done

# Firmware: the embedded training build for a Cortex-M4, freestanding, -Os
if command -v arm-none-eabi-gcc >/dev/null; then
    build/dnnc -q --prefix dev --embed-weights "$data/lenet5.weights.safetensors" "$tmp/lenet5.dnn" -o "$tmp/dev.c"
    if arm-none-eabi-gcc -std=c99 -Os -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffreestanding \
        -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$tmp" -c "$tmp/dev.c" -o "$tmp/dev.o" 2>"$tmp/err"; then
        pass cortex_m4
    else
        fail cortex_m4 "$(grep -m1 -E 'error|warning' "$tmp/err")"
    fi
else
    echo "SKIP device/cortex_m4: arm-none-eabi-gcc is not installed"
fi

# --ram-limit: over the limit is an error at the model's name and nothing is written; at it, fine
size=$(build/dnnc --emit=report --embed-weights "$data/lenet5.weights.safetensors" "$tmp/lenet5.dnn" |
       sed -n 's/^RAM of the model: \([0-9]*\) bytes$/\1/p')
rm -f "$tmp/limit.c"
if ! build/dnnc --ram-limit $((size - 1)) --embed-weights "$data/lenet5.weights.safetensors" "$tmp/lenet5.dnn" \
    -o "$tmp/limit.c" 2>"$tmp/err" && [ ! -e "$tmp/limit.c" ] &&
    grep -q "lenet5.dnn:3:7: error: model 'lenet5' needs $size bytes of RAM (sizeof(lenet5_model)), more than --ram-limit $((size - 1))" "$tmp/err" &&
    grep -q "^note: freeze more parameters" "$tmp/err"; then
    pass ram_limit.over
else
    fail ram_limit.over "$(head -n 3 "$tmp/err" | tr '\n' ' ')"
fi
if build/dnnc --ram-limit "$size" --embed-weights "$data/lenet5.weights.safetensors" "$tmp/lenet5.dnn" -o "$tmp/limit.c" 2>"$tmp/err" &&
    [ -s "$tmp/limit.c" ]; then
    pass ram_limit.at
else
    fail ram_limit.at "$(head -n 2 "$tmp/err" | tr '\n' ' ')"
fi
if build/dnnc --ram-limit 2M models/mlp.dnn -o "$tmp/m.c" 2>"$tmp/err" && ! build/dnnc --ram-limit 64K models/mlp.dnn -o "$tmp/m.c" 2>"$tmp/err" &&
    grep -q "more than --ram-limit 65536" "$tmp/err" && ! build/dnnc --ram-limit 12x models/mlp.dnn 2>"$tmp/err" &&
    grep -q "error: --ram-limit takes bytes" "$tmp/err"; then
    pass ram_limit.units
else
    fail ram_limit.units "$(head -n 2 "$tmp/err" | tr '\n' ' ')"
fi

# Buffers may be absent from the weights file: they start as NAME_init would set them
/usr/bin/python3 - "$data/bn_dense.weights.safetensors" "$tmp/nobuf.safetensors" <<'EOF' 2>/dev/null
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
head = json.loads(b[8:8 + n]); body = b[8 + n:]
out, at, new = {}, 0, b''
for k, v in head.items():
    if k == '__metadata__' or 'running' in k or 'batches' in k:
        continue
    s, e = v['data_offsets']
    out[k] = dict(v, data_offsets=[at, at + e - s]); new += body[s:e]; at += e - s
h = json.dumps(out).encode(); h += b' ' * (-len(h) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(h)) + h + new)
EOF
cat >"$tmp/nobuf_main.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include "dev.h"
static dev_model d;
int main(void) { /* running_mean 0, running_var 1, num_batches_tracked 0, as NAME_init sets them */
    dev_init(&d, 1);
    for (int i = 0; i < DEV_NUM_TENSORS; i++)
        if (strstr(dev_tensors[i].name, "running") || strstr(dev_tensors[i].name, "batches"))
            printf("%s %g\n", dev_tensors[i].name, dev_tensor(&d, i)[0]);
    return 0;
}
EOF
if build/dnnc -q --prefix dev --embed-weights "$tmp/nobuf.safetensors" "$tmp/bn_dense.dnn" -o "$tmp/dev.c" 2>"$tmp/err" &&
    cc -std=c99 -Iruntime -I"$tmp" "$tmp/nobuf_main.c" "$tmp/dev.c" build/libdnnrt_core.a -lm -o "$tmp/nobuf" &&
    [ "$("$tmp/nobuf" | tr '\n' ' ')" = "out.1.running_mean 0 out.1.running_var 1 out.1.num_batches_tracked 0 " ] &&
    ! build/dnnc -q --embed-weights "$tmp/nobuf.safetensors" --inference "$tmp/bn_dense.dnn" -o "$tmp/x.c" 2>/dev/null; then
    pass buffers_absent
else
    fail buffers_absent "$(head -n 2 "$tmp/err" | tr '\n' ' ') $("$tmp/nobuf" 2>&1 | tr '\n' ' ')"
fi

# LeNet-5 (models/lenet5.dnn), batch 1, SGD with momentum, cross-entropy only: the two
# configurations of docs/firmware.md, their RAM and the lower bound worked out there by hand
lenet_config() { # lenet_config NAME FREEZE
    sed "s/    train {/    freeze $2;\n\n    train {/; s/optimizer adam(lr = 1e-3);/optimizer sgd(lr = 0.01, momentum = 0.9);/
         s/batch 32;/batch 1;/; s/ + 1e-4 \* l2(weights)//; /schedule/d; /early_stop/d" models/lenet5.dnn >"$tmp/$1.dnn"
    build/dnnc --embed-weights "$data/lenet5.weights.safetensors" --emit=report "$tmp/$1.dnn" >"$tmp/$1.report" 2>&1
}
pinned() { # pinned NAME RAM BOUND
    ram=$(sed -n 's/^RAM of the model: \([0-9]*\) bytes$/\1/p' "$tmp/$1.report")
    low=$(sed -n 's/^RAM lower bound: \([0-9]*\) bytes.*/\1/p' "$tmp/$1.report")
    if [ "$ram" = "$2" ] && [ "$low" = "$3" ]; then
        pass "lenet5_$1.ram ($ram B, lower bound $low B)"
    else
        fail "lenet5_$1.ram" "RAM ${ram:-?} B (pinned $2), lower bound ${low:-?} B (pinned $3, docs/firmware.md)"
    fi
}
lenet_config a 'features.*, classifier.1.*'
pinned a 94504 94424
lenet_config b 'features.*.weight, classifier.1.weight, classifier.3.weight'
pinned b 21456 21328

# batch 1 on the device: a frozen batchnorm (eval mode: the running statistics) trains on one
# sample; a trainable one over one value per channel refuses it (DNN_E_ARG), as PyTorch does
one_sample() { # one_sample CASE WANT(trained|refused)
    build/dnnc -q --embed-weights "$data/$1.weights.safetensors" tests/golden/cases/$1.dnn -o "$tmp/one.c" 2>"$tmp/err"
    printf '#include <math.h>\n#include <stdio.h>\n#include "one.h"\nstatic %s_model m;\nint main(void) {\n    float x[4] = {0.5f, -1, 2, 0.25f}, y[2] = {1, -1};\n    %s_init(&m, 1);\n    const float loss = %s_train_step(&m, x, y, 1);\n    printf("%%s\\n", loss == (float)DNN_E_ARG ? "refused" : isfinite(loss) ? "trained" : "nan");\n    return 0;\n}\n' \
        "$1" "$1" "$1" >"$tmp/one_main.c"
    if cc -std=c99 -Iruntime -I"$tmp" "$tmp/one_main.c" "$tmp/one.c" build/libdnnrt_core.a -lm -o "$tmp/one" 2>>"$tmp/err" &&
        [ "$("$tmp/one")" = "$2" ]; then
        pass "one_sample.$1 ($2)"
    else
        fail "one_sample.$1" "want n = 1 $2: $("$tmp/one" 2>&1) $(head -n 2 "$tmp/err" | tr '\n' ' ')"
    fi
}
one_sample freeze_bn trained
one_sample bn_dense refused
