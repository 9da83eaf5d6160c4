#!/bin/sh
# tests/kernels/run.sh — the kernels against each other and against the
# code dnnc generates. The first two tests extract generated functions into
# a header, build their .c with AVX2 and with -DDNN_PORTABLE, and the two
# builds must write the same bits on inputs that make the order of
# operations show:
#   maxpool_ties: the 2x2 maxpool gradient of models/lenet5.dnn, ties and NaNs;
#   conv_pools:   the conv2d kernels with columns in the lanes (conv_pools.dnn:
#                 fused conv → relu/none → max/avg pool, and an unfused conv).
# kernels.BUILD: every kernel of runtime/dnn_kernels.h against the generated
#   steps of many shapes, bit for bit, and against its plain reference
#   (kernels.c), built for each vector path.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS kernels/$1"; }
fail() { echo "FAIL kernels/$1: $2"; }

if ! grep -q ' avx2 ' /proc/cpuinfo 2>/dev/null || ! grep -q ' fma ' /proc/cpuinfo; then
    echo "SKIP kernels/maxpool_ties: the CPU has no AVX2 and FMA"
    echo "SKIP kernels/conv_pools: the CPU has no AVX2 and FMA"
    exit 0
fi

# extract FROM TO FILE: generated function FROM of FILE, renamed TO
extract() { awk "/^static void $1\\(/,/^}/" "$3" | sed "s/$1(/$2(/"; }

# check NAME: builds tests/kernels/NAME.c against $tmp/NAME.h both ways and compares five seeds
check() {
    grep -q 'DNN_V8' "$tmp/$1.h" || { fail "$1" "no vector path in the generated code"; return; }
    for build in avx portable; do
        flags="-mavx2 -mfma"; [ $build = portable ] && flags=-DDNN_PORTABLE
        # shellcheck disable=SC2086 # $flags is a list
        cc -std=c99 -O2 $flags -Wall -Wextra -Werror -Iruntime -I"$tmp" "tests/kernels/$1.c" -lm \
            -o "$tmp/$1.$build" 2>"$tmp/err" || { fail "$1" "cc: $(head -n1 "$tmp/err")"; return; }
    done
    for seed in 1 2 3 4 5; do
        "$tmp/$1.avx" $seed >"$tmp/avx.out" && "$tmp/$1.portable" $seed >"$tmp/portable.out" &&
            cmp -s "$tmp/avx.out" "$tmp/portable.out" || { fail "$1" "seed $seed: the two builds differ"; return; }
    done
    pass "$1"
}

if build/dnnc -q --prefix net models/lenet5.dnn -o "$tmp/lenet5.c"; then
    {
        echo '#include "dnn.h"'
        extract net_features_2_maxpool pool_forward "$tmp/lenet5.c"
        extract net_features_2_maxpool_grad0 pool_grad "$tmp/lenet5.c"
    } >"$tmp/maxpool_ties.h"
    check maxpool_ties
else
    fail maxpool_ties "dnnc failed"
fi

if build/dnnc -q --prefix net --inference tests/kernels/conv_pools.dnn -o "$tmp/fused.c" &&
    build/dnnc -q --prefix net tests/kernels/conv_pools.dnn -o "$tmp/train.c"; then
    {
        echo '#include <string.h>'
        echo '#include "dnn.h"'
        extract net_relu_max_2_conv2d_relu_maxpool pool_relu_max "$tmp/fused.c"
        extract net_plain_max_1_conv2d_maxpool pool_plain_max "$tmp/fused.c"
        extract net_relu_avg_2_conv2d_relu_avgpool pool_relu_avg "$tmp/fused.c"
        extract net_relu_max_0_conv2d conv_unfused "$tmp/train.c"
    } >"$tmp/conv_pools.h"
    grep -c 'output columns in the vector lanes' "$tmp/conv_pools.h" | grep -qx 4 ||
        fail conv_pools "the four kernels are not all the columns-in-lanes kind"
    check conv_pools
else
    fail conv_pools "dnnc failed"
fi

# kernels: every kernel of runtime/dnn_kernels.h against dnnc's generated
# steps, bit for bit, and against its plain reference (kernels.c). Models
# with a layer of each shape below are compiled for speed, for size, with
# --inference and with --main (the double twin); their steps go into
# gen.h as gen_TAG_ROLE and the shapes into cases.h.
k=$tmp/k
mkdir -p "$k"
: >"$k/gen.h"
: >"$k/cases.h"
: >"$k/failures"

# compile TAG [DNNC FLAGS]: $k/TAG.dnn → C, whose file name it prints (the flags name it too)
compile() {
    out=$k/$1$(shift && printf %s "$*" | tr -dc a-z).c
    tag=$1 && shift
    build/dnnc -q --prefix net "$@" "$k/$tag.dnn" -o "$out" 2>"$k/err" ||
        echo "$tag: dnnc $*: $(head -n1 "$k/err");" >>"$k/failures"
    echo "$out"
}

# take FILE FROM TO: the generated function FROM of FILE, renamed TO, into gen.h
take() {
    awk "/^static (inline )?void $2\\(/,/^}/" "$1" | sed "s/$2(/$3(/" >"$k/fn"
    [ -s "$k/fn" ] || echo "no $2 in $(basename "$1");" >>"$k/failures"
    cat "$k/fn" >>"$k/gen.h"
}

# layer TAG INPUT TARGET LAYER OP GRADIENTS: a model whose y = LAYER
# reads h = prelu(x) (so that the layer's input gradient is needed),
# compiled for speed, for size and with --main; its steps net_y_OP (and
# _grad0, _grad1, _grad2 for the GRADIENTS among dx dw db) become
# gen_TAG_fwd (_dx, _dw, _db), gen_TAG_fwd_small, gen_TAG_f64_fwd (...).
# Sets $speed, the file of the speed build.
layer() {
    tag=$1 input=$2 target=$3 text=$4 op=$5
    cat >"$k/$tag.dnn" <<MODEL
model t {
    input x[$input];
    target t[$target];
    h = prelu(x);
    y = $text;
    output y;
    loss mse(y, t);
    train { optimizer sgd(lr = 0.1); batch 8; epochs 1; }
}
MODEL
    speed=$(compile "$tag") small=$(compile "$tag" --optimize=size) twin=$(compile "$tag" --main)
    take "$speed" "net_y_$op" "gen_${tag}_fwd"
    take "$small" "net_y_$op" "gen_${tag}_fwd_small"
    take "$twin" "net_f64_y_$op" "gen_${tag}_f64_fwd"
    arg=0
    for role in dx dw db; do
        case " $6 " in
        *" $role "*)
            take "$speed" "net_y_${op}_grad$arg" "gen_${tag}_$role"
            take "$twin" "net_f64_y_${op}_grad$arg" "gen_${tag}_f64_$role" ;;
        *) printf '#define gen_%s_%s 0\n#define gen_%s_f64_%s 0\n' "$tag" $role "$tag" $role >>"$k/gen.h" ;;
        esac
        arg=$((arg + 1))
    done
}

# dense: IN UNITS BIAS — the MLP's and LeNet-5's layers, tails of in % 8,
# rows left after the blocks of 6 and 8, tiny and biasless layers
for shape in "784 128 1" "128 64 1" "64 10 1" "400 120 1" "120 84 1" "84 10 1" "13 7 1" "5 3 0" "1 1 1" \
    "16 6 0" "9 13 1" "8 1 1" "17 20 0" "24 9 1"; do
    set -- $shape
    bias=true grads="dx dw db"
    [ "$3" = 0 ] && bias=false grads="dx dw"
    layer "dense_$1_$2_$3" "$1" "$2" "dense(h, $2, bias = $bias)" dense "$grads"
    echo "DENSE(dense_$1_$2_$3, $1, $2, $3)" >>"$k/cases.h"
done

# kind FILE FUNCTION PATTERN CODE ... : the CODE of the first PATTERN in the function's text, else 0
kind() {
    awk "/^static void $2\\(/,/^}/" "$1" >"$k/fn"
    shift 2
    while [ $# -gt 1 ]; do
        grep -q "$1" "$k/fn" && echo "$2" && return
        shift 2
    done
    echo 0
}

# conv2d: C H W F K S P BIAS — LeNet-5's layers (columns in the lanes with
# a padded input; filters in the lanes), the columns kernel's odd row
# count and tile shapes, filters not a multiple of 8 (tiles of 1, 2 and 3
# vectors), strides and padding, the direct loops (too few filters, too
# large an input), a kernel larger than a tile, 1 × 1, biasless
for shape in "1 28 28 6 5 1 2 1" "6 14 14 16 5 1 0 1" "2 7 12 3 3 1 0 1" "1 10 18 4 3 1 0 0" "3 9 11 12 3 2 1 1" \
    "2 6 6 24 3 1 0 1" "2 9 9 3 3 2 1 1" "16 66 66 4 3 1 0 1" "1 20 20 8 17 1 0 1" "12 7 9 5 3 2 1 1" \
    "8 5 5 8 1 1 0 1" "4 8 8 4 3 1 1 0"; do
    set -- $shape
    tag=conv_$(echo "$shape" | tr ' ' _)
    bias=true grads="dx dw db"
    [ "$8" = 0 ] && bias=false grads="dx dw"
    layer "$tag" "$1, $2, $3" "$4, $(( ($2 + 2 * $7 - $5) / $6 + 1 )), $(( ($3 + 2 * $7 - $5) / $6 + 1 ))" \
        "conv2d(h, $4, kernel = $5, stride = $6, pad = $7, bias = $bias)" conv2d "$grads"
    fwd=$(kind "$speed" net_y_conv2d "output columns in the vector lanes" 2 "filters in the vector lanes" 1)
    dw=$(kind "$speed" net_y_conv2d_grad1 "filters in the vector lanes" 1 "dnn_v8_sum(acc) + t" 3)
    dx=$(kind "$speed" net_y_conv2d_grad0 "input channels in the vector lanes" 1)
    echo "CONV($tag, $1, $2, $3, $4, $5, $6, $7, $8, $fwd, $dw, $dx)" >>"$k/cases.h"
done

# conv2d → activation → pool (--inference): C H W F K S P BIAS PK PS PP POOL ACT —
# LeNet-5's; the columns kernel with no activation and with avgpool; the
# lanes kernel with overlapping windows, a window too large for the fixed
# tile, activations done lane by lane; padded maxpool and too few filters
# (the rows kernel)
for shape in "1 28 28 6 5 1 2 1 2 2 0 max relu" "6 14 14 16 5 1 0 1 2 2 0 max relu" "1 28 28 6 5 1 2 1 2 2 0 max none" \
    "1 28 28 3 3 1 0 1 2 2 0 avg relu" "4 12 12 8 3 1 1 1 3 2 0 max relu" "1 14 14 8 3 1 1 1 6 6 0 max relu" \
    "1 28 28 6 5 1 2 1 2 2 0 max sigmoid" "4 12 12 8 3 1 1 0 2 2 0 avg leaky_relu" "4 12 12 8 3 1 1 1 3 2 1 max relu" \
    "2 9 9 2 3 2 1 1 2 2 0 avg relu" "6 14 14 16 5 1 0 1 2 2 0 avg none" "3 10 10 5 3 1 0 1 2 2 0 max relu"; do
    set -- $shape
    tag=cp_$(echo "$shape" | tr ' ' _)
    bias=true; [ "$8" = 0 ] && bias=false
    oh=$(( ($2 + 2 * $7 - $5) / $6 + 1 )) ow=$(( ($3 + 2 * $7 - $5) / $6 + 1 ))
    act="a = ${13}(c);" && [ "${13}" = none ] && act="a = c;"
    pool="maxpool(a, ${9}, stride = ${10}, pad = ${11})" && [ "${12}" = avg ] && pool="avgpool(a, ${9}, stride = ${10})"
    cat >"$k/$tag.dnn" <<MODEL
model t {
    input x[$1, $2, $3];
    target t[$4, $(( (oh + 2 * ${11} - ${9}) / ${10} + 1 )), $(( (ow + 2 * ${11} - ${9}) / ${10} + 1 ))];
    c = conv2d(x, $4, kernel = $5, stride = $6, pad = $7, bias = $bias);
    $act
    y = $pool;
    output y;
    loss mse(y, t);
    train { optimizer sgd(lr = 0.1); batch 8; epochs 1; }
}
MODEL
    fused=net_y_conv2d_$( [ "${13}" = none ] || echo "${13}_")${12}pool
    speed=$(compile $tag --inference) small=$(compile $tag --inference --optimize=size)
    take "$speed" "$fused" gen_${tag}_fwd
    take "$small" "$fused" gen_${tag}_fwd_small
    kernel=$(kind "$speed" "$fused" "output columns in the vector lanes" 2 "filters in the vector lanes" 1 "float rows\[" 3)
    max=1; [ "${12}" = avg ] && max=0
    echo "CONVPOOL($tag, $1, $2, $3, $4, $5, $6, $7, $8, ${9}, ${10}, ${11}, $max, ${13}, $kernel)" >>"$k/cases.h"
done

# pooling: C H W K S P POOL — LeNet-5's maxpools (tiled; the 2 x 2
# gradient 4 windows at a time, and the windows left), windows that leave
# rows and columns uncovered, K = 3 and 5, avgpool, overlapping and padded
# windows (the plain loops)
for shape in "6 28 28 2 2 0 max" "16 10 10 2 2 0 max" "3 7 9 3 3 0 max" "2 6 6 2 2 0 max" "3 9 8 2 2 0 max" \
    "4 8 8 2 2 0 avg" "3 9 9 3 2 0 max" "3 9 9 3 2 1 max" "2 7 7 3 3 0 avg" "2 5 5 5 5 0 max"; do
    set -- $shape
    tag=pool_$(echo "$shape" | tr ' ' _)
    pool="maxpool(h, $4, stride = $5, pad = $6)" && [ "$7" = avg ] && pool="avgpool(h, $4, stride = $5)"
    layer "$tag" "$1, $2, $3" "$1, $(( ($2 + 2 * $6 - $4) / $5 + 1 )), $(( ($3 + 2 * $6 - $4) / $5 + 1 ))" "$pool" \
        "$7pool" dx
    max=1; [ "$7" = avg ] && max=0
    echo "POOL($tag, $1, $2, $3, $4, $5, $6, $max)" >>"$k/cases.h"
done

# optimizer updates: each optimizer of torch.optim dnnc has, with and
# without momentum, over 18 parameters (vectors and tails); the model is
# named after the case, whose header gen.h includes
for opt in "sgd:sgd(lr = 0.1)" "sgd_momentum:sgd(lr = 0.1, momentum = 0.9, dampening = 0.1)" \
    "sgd_nesterov:sgd(lr = 0.1, momentum = 0.9, nesterov = true)" "adam:adam(lr = 0.01)" "adamw:adamw(lr = 0.01)" \
    "adagrad:adagrad(lr = 0.1)" "rmsprop:rmsprop(lr = 0.01)" "rmsprop_momentum:rmsprop(lr = 0.01, momentum = 0.5)"; do
    tag=upd_${opt%%:*}
    cat >"$k/$tag.dnn" <<MODEL
model t {
    input x[5];
    target t[3];
    y = dense(x, 3);
    output y;
    loss mse(y, t);
    train { optimizer ${opt#*:}; batch 4; epochs 1; }
}
MODEL
    build/dnnc -q --prefix $tag "$k/$tag.dnn" -o "$k/$tag.c" 2>"$k/err" || echo "$tag: dnnc: $(head -n1 "$k/err");" >>"$k/failures"
    echo "#include \"$tag.h\"" >>"$k/gen.h"
    take "$k/$tag.c" ${tag}_update ${tag}_update
    echo "UPDATE($tag, ${opt%%:*})" >>"$k/cases.h"
done

# The builds: AVX2 and FMA (DNN_V8); DNN_V8X2 emulated on AVX2 (kernels.c),
# so that the AVX-512 kernels' blocking is tested on any x86-64 with AVX2;
# AVX-512 itself when the CPU has it; plain C. Two at a time.
# build NAME FLAGS: compiles and runs kernels.c, its verdict into $k/NAME.verdict
build() {
    # shellcheck disable=SC2086 # $2 is a list
    if ! cc -std=c99 -O2 $2 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$k" -Itests/kernels tests/kernels/kernels.c runtime/dnn_core.c -lm \
        -o "$k/kernels.$1" 2>"$k/err.$1"; then
        fail "kernels.$1" "cc: $(grep -m1 error "$k/err.$1" || head -n1 "$k/err.$1")"
    elif "$k/kernels.$1" >"$k/out.$1" 2>&1; then
        pass "kernels.$1"
    else
        fail "kernels.$1" "$(grep -c FAIL "$k/out.$1") checks failed: $(grep -m3 FAIL "$k/out.$1" | tr '\n' ';')"
    fi >"$k/$1.verdict"
}
if [ -s "$k/failures" ]; then
    fail kernels "$(tr '\n' ' ' <"$k/failures")"
else
    build avx2 "-mavx2 -mfma" &
    build v8x2 "-mavx2 -mfma -DEMULATE_V8X2 -Wno-psabi"
    wait
    builds="avx2 v8x2 portable"
    if grep -q ' avx512f' /proc/cpuinfo; then
        builds="$builds avx512"
        build avx512 "-mavx512f -mavx2 -mfma" &
    fi
    build portable -DDNN_PORTABLE
    wait
    for b in $builds; do cat "$k/$b.verdict"; done
fi
