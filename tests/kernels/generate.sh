# tests/kernels/generate.sh — sourced by run.sh and throughput.sh with $k
# set to an empty directory: writes models with a layer of each shape below,
# compiles them with build/dnnc for speed, for size, with --inference and
# with --main (the double twin), and collects their steps into $k/gen.h as
# gen_TAG_ROLE and the shapes into $k/cases.h (kernel_cases.h reads both).
# Anything that went wrong is a line of $k/failures.
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
