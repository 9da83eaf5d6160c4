#!/bin/sh
# --emit=dot: every model gives a graph that Graphviz accepts, with and
# without --backward, the same bytes on every run, and no edge to a node it
# did not declare; the LeNet-5, XOR, batchnorm and frozen graphs show the
# expected nodes and labels. DNNC=path overrides build/dnnc.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
dnnc=${DNNC:-build/dnnc}

if ! command -v dot >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null 2>&1
fi
have_dot=false
command -v dot >/dev/null 2>&1 && have_dot=true
. tests/random_data.sh
light=" $(light_models | tr '\n' ' ') "

# undeclared FILE: the edge endpoints that have no node statement
undeclared() {
    sed -n 's/^ *\([a-z0-9_]*\) \[.*/\1/p' "$1" | sort -u >"$tmp/nodes"
    sed -n 's/^ *\([a-z0-9_]*\) -> \([a-z0-9_]*\).*/\1\n\2/p' "$1" | sort -u | comm -23 - "$tmp/nodes" | tr '\n' ' '
}

for f in models/*.dnn tests/golden/cases/*.dnn; do
    [ -f "$f" ] || continue
    name=$(basename "$(dirname "$f")")/$(basename "$f" .dnn)
    for mode in forward backward; do
        flag=; [ $mode = backward ] && flag=--backward
        if ! $dnnc --emit=dot $flag "$f" >"$tmp/a.dot" 2>"$tmp/err"; then
            echo "FAIL dot/$name $mode: dnnc: $(grep -m1 error "$tmp/err")"; continue
        fi
        $dnnc --emit=dot $flag "$f" >"$tmp/b.dot" 2>/dev/null
        if cmp -s "$tmp/a.dot" "$tmp/b.dot"; then
            echo "PASS dot/$name $mode deterministic"
        else
            echo "FAIL dot/$name $mode deterministic: two runs gave different bytes"
        fi
        missing=$(undeclared "$tmp/a.dot")
        if [ -n "$missing" ]; then
            echo "FAIL dot/$name $mode nodes: edges to undeclared nodes: $missing"
        else
            echo "PASS dot/$name $mode nodes"
        fi
        if ! $have_dot; then
            echo "SKIP dot/$name $mode graphviz: dot is not installed"
        elif [ "${light#* models/$(basename "$f") }" = "$light" ] && [ -f "models/$(basename "$f")" ]; then
            # models/ or its golden case (tests/golden/cases/ds_cnn.dnn ...)
            echo "SKIP dot/$name $mode graphviz: an MLPerf Tiny network, minutes of layout"
        elif dot -Tsvg "$tmp/a.dot" >/dev/null 2>"$tmp/dot.err" && [ ! -s "$tmp/dot.err" ]; then
            echo "PASS dot/$name $mode graphviz"
        else
            echo "FAIL dot/$name $mode graphviz: $(head -1 "$tmp/dot.err")"
        fi
    done
done

# expect NAME FILE PATTERN...: every fixed-string pattern occurs in FILE
expect() {
    name=$1 file=$2; shift 2
    for p in "$@"; do
        if ! grep -qF -- "$p" "$file"; then
            echo "FAIL dot/$name: no '$p'"; return
        fi
    done
    echo "PASS dot/$name"
}
# refuse NAME FILE PATTERN: the pattern does not occur
refuse() {
    if grep -qF -- "$3" "$2"; then echo "FAIL dot/$1: has '$3'"; else echo "PASS dot/$1"; fi
}
# count NAME FILE REGEX N: N lines match
count() {
    n=$(grep -c -- "$3" "$2")
    if [ "$n" = "$4" ]; then echo "PASS dot/$1"; else echo "FAIL dot/$1: $n lines match '$3', expected $4"; fi
}

$dnnc --emit=dot models/lenet5.dnn >"$tmp/lenet.dot" 2>/dev/null
# 2 input/target + 10 parameters + 12 layers + softmax + the loss's 4 steps
# (cross_entropy, l2 over the five weights, the product, the sum); the
# constant 0.0001 is folded into its multiplication; 33 edges between them,
# one to the output and one to the loss
count lenet5-values "$tmp/lenet.dot" '^    v[0-9]* \[' 29
count lenet5-edges "$tmp/lenet.dot" ' -> ' 35
# the penalty over five weights is one node, each weight an edge into it
count lenet5-one-penalty "$tmp/lenet.dot" 'label="loss\\nl2(weights)\\nscalar"' 1
penalty=$(sed -n 's/^ *\(v[0-9]*\) .*label="loss\\nl2(weights).*/\1/p' "$tmp/lenet.dot")
count lenet5-penalty-edges "$tmp/lenet.dot" " -> $penalty;" 5
expect lenet5-labels "$tmp/lenet.dot" \
    'label="model lenet5\n61,706 parameters"' \
    'shape=box, style="rounded,filled", fillcolor="#e3f2fd", label="features.0\nconv2d(filters=6, kernel=5, pad=2)\n[6, 28, 28]"' \
    'label="classifier.5\ndense(units=10)\n[10]"' \
    'shape=note, fontsize=8, fillcolor="#fff8e1", label="features.0.weight\n[6, 1, 5, 5]"' \
    'shape=invhouse, fillcolor="#c8e6c9", penwidth=1.5, label="input image\n[1, 28, 28]"' \
    'label="target label\nclass(10)"' \
    'label="output probs"' 'loss [shape=doubleoctagon' \
    'label="loss\n0.0001 * x\nscalar"'
refuse lenet5-no-constant-node "$tmp/lenet.dot" 'label="0.0001'
# a window of several numbers shown as written: DS-CNN's stem and pool
$dnnc --emit=dot models/ds_cnn.dnn >"$tmp/ds_cnn.dot" 2>&1
expect ds_cnn-window-labels "$tmp/ds_cnn.dot" 'conv2d(filters=64, kernel=[10, 4], stride=2, pad=[4, 5, 1, 1])' \
    'avgpool(size=[24, 5], stride=[24, 5])' 'conv2d(filters=64, kernel=3, pad=1, groups=64)'
refuse lenet5-forward-only "$tmp/lenet.dot" 'cluster_backward'

$dnnc --emit=dot --backward models/xor.dnn >"$tmp/xor.dot" 2>/dev/null
expect xor-backward "$tmp/xor.dot" 'subgraph cluster_backward' \
    'label="out\ndense gradient\nw.r.t. out.weight\n[1, 4]"' \
    'label="loss\nmse gradient\nw.r.t. out\ndy = 1\n[1]"' \
    'label="grad h.weight"' 'label="grad out.bias"'
count xor-grad-stores "$tmp/xor.dot" 'label="grad ' 4
count xor-gradient-flow "$tmp/xor.dot" 'color="#c62828"\]' 11
# the penalty's gradient reads a folded constant (1 * 0.0001), shown as written
$dnnc --emit=dot --backward models/lenet5.dnn >"$tmp/lenet-backward.dot" 2>/dev/null
count lenet5-penalty-gradients "$tmp/lenet-backward.dot" 'label="loss\\nl2 gradient\\nw.r.t. [a-z0-9.]*weight\\ndy = 0.0001\\n' 5

$dnnc --emit=dot tests/golden/cases/bn_conv.dnn >"$tmp/bn.dot" 2>/dev/null
expect batchnorm-buffers "$tmp/bn.dot" \
    'shape=cylinder, fontsize=8, fillcolor="#eeeeee", label="h.1.running_mean\n[3]  buffer"' \
    'label="h.1\nbatchnorm(momentum=0.3, eps=0.001)\n[3, 4, 4]"'

$dnnc --emit=dot tests/diag/valid/freeze_layers.dnn >"$tmp/frozen.dot" 2>/dev/null
expect frozen-params "$tmp/frozen.dot" 'label="encoder.0.weight\n[16, 8]  frozen"' \
    'label="model frozen\n298 parameters, 18 trainable"'

# a value that reaches neither an output nor the loss is left out
$dnnc --emit=dot tests/diag/warn_unused_value.dnn >"$tmp/unused.dot" 2>/dev/null
refuse unused-value-left-out "$tmp/unused.dot" 'sigmoid'

# a choice attribute (reduction) is shown when it is not the default
$dnnc --emit=dot tests/golden/cases/loss_hinge_sum.dnn >"$tmp/sum.dot" 2>/dev/null
expect choice-attribute "$tmp/sum.dot" 'label="loss\nhinge(margin=0.5, reduction=sum)\nscalar"'
$dnnc --emit=dot tests/golden/cases/loss_hinge.dnn >"$tmp/mean.dot" 2>/dev/null
refuse choice-attribute-default "$tmp/mean.dot" 'reduction='
