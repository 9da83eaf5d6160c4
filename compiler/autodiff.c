/* autodiff.c — reverse-mode differentiation at compile time.
 *
 * Entry: differentiate(). The forward graph is walked from the loss back to
 * the parameters; each op's gradient rule (ops_*.c) appends IR computing its
 * operands' gradients from the result's. Only values that depend on a
 * trainable parameter get a gradient, so nothing is computed for inputs,
 * targets, constants or frozen parameters. Where a value is used several
 * times its gradient contributions are added. A parameter's gradient is
 * stored (grad_store) as soon as it is complete, right after the backward
 * step of its first user, so that an update fused into the backward pass
 * (training on the device) applies it there and its buffer is freed. The
 * result is IR like any other: plan.c places it and emit.c prints it.
 */
#include "dnnc.h"

#include <string.h>

static Value *store_gradient(Graph *g, Value *p, Value *grad) {
    Value *store = ir_node(g, OP_grad_store, p->loc, grad, NULL, NULL);
    store->grad_of = p;
    store->shaped = true;
    return store;
}

void differentiate(Graph *g) {
    int nforward = g->nvalues;
    g->nforward = nforward;
    if (!g->loss)
        return;

    /* which values depend on a trainable parameter */
    for (int i = 0; i < nforward; i++) {
        Value *v = g->values[i];
        v->needs_grad = v->op == OP_param && v->trainable;
        for (int k = 0; k < v->nin; k++)
            if (v->in[k] && v->in[k]->needs_grad)
                v->needs_grad = true;
    }

    Value **adjoint = arena_alloc(sizeof(Value *) * (size_t)nforward);
    int *first_user = arena_alloc(sizeof(int) * (size_t)nforward); /* each value's first reader */
    for (int i = nforward - 1; i >= 0; i--)
        for (int k = 0; k < g->values[i]->nin; k++)
            if (g->values[i]->in[k])
                first_user[g->values[i]->in[k]->id] = i;
    Value **store_of = arena_alloc(sizeof(Value *) * (size_t)nforward);
    Value *one = new_value(g, OP_constant, g->loss->loc);
    one->attr[0] = 1.0;
    one->shaped = true;
    adjoint[g->loss->id] = one;
    int shaped = g->nvalues;

    for (int i = nforward - 1; i >= 0; i--) {
        Value *v = g->values[i], *dy = adjoint[i];
        if (dy && v->needs_grad && v->op != OP_param) {
            Value *dx[MAX_INPUTS] = {0};
            op_grad(g, v, dy, dx);
            for (int k = 0; k < v->nin; k++) {
                Value *x = v->in[k];
                if (dx[k] && x)
                    adjoint[x->id] = adjoint[x->id] ? ir_binary(g, OP_add, adjoint[x->id], dx[k], x->loc) : dx[k];
            }
            for (; shaped < g->nvalues; shaped++) /* the nodes just made */
                if (!g->values[shaped]->shaped) {
                    if (!op_shape(g, g->values[shaped]))
                        ICE("a gradient of %s() has no shape", op_info[v->op].name);
                    g->values[shaped]->shaped = true;
                }
        }
        for (int k = 0; k < v->nin; k++) { /* parameters read first here: their gradients are complete */
            Value *p = v->in[k];
            if (p && p->op == OP_param && p->trainable && first_user[p->id] == i && adjoint[p->id] && !store_of[p->id])
                store_of[p->id] = store_gradient(g, p, adjoint[p->id]);
        }
    }

    /* parameters the loss depends on: a DFS from the loss */
    bool *in_loss = arena_alloc((size_t)nforward);
    size_t operands = 0;
    for (int i = 0; i < nforward; i++)
        operands += (size_t)g->values[i]->nin;
    Value **stack = arena_alloc(sizeof(Value *) * (operands + 1));
    int top = 0;
    stack[top++] = g->loss;
    while (top) {
        Value *v = stack[--top];
        if (!v || v->id >= nforward || in_loss[v->id])
            continue;
        in_loss[v->id] = true;
        for (int k = 0; k < v->nin; k++)
            stack[top++] = v->in[k];
    }

    g->grads = arena_alloc(sizeof(Value *) * (size_t)(g->nparams + 1));
    for (int i = 0; i < g->nparams; i++) {
        Value *p = g->params[i];
        if (!p->trainable)
            continue;
        if (!adjoint[p->id]) {
            if (in_loss[p->id])
                warning_at(p->loc, "parameter '%s' gets no gradient: every path to the loss runs through step()",
                           p->name);
            else if (p->used)
                warning_at(p->loc, "parameter '%s' does not affect the loss, so training leaves it as it is", p->name);
            continue;
        }
        if (!store_of[p->id])
            ICE("the gradient of %s was not stored", p->name);
        g->grads[i] = store_of[p->id];
    }
}
