/* plan.c — the memory plan: where every value lives in the model struct.
 *
 * Entry: plan_memory(). Parameters are laid out in NAME_tensors order
 * (trainable and frozen parameters in creation order, then buffers such as
 * batchnorm running statistics), and gradients mirror that layout, so the
 * optimizer is one flat loop. Inputs and targets are the caller's arrays;
 * constants are static arrays in the .c file. Every other value gets its
 * own slice of the activation area, sized for the compile-time batch.
 *
 * This is the simple plan: no slice is reused. A liveness-based plan can
 * replace this pass without touching the others.
 */
#include "dnnc.h"

Plan plan_memory(Graph *g) {
    Plan p = {0};
    int index = 0;
    for (int pass = 0; pass < 2; pass++) /* parameters, then buffers */
        for (int i = 0; i < g->nparams; i++) {
            Value *v = g->params[i];
            if (v->is_buffer != (pass == 1))
                continue;
            v->area = AREA_PARAM;
            v->offset = (int)p.params;
            v->index = index++;
            p.params += shape_size(&v->shape);
            if (v->trainable)
                p.trainable += shape_size(&v->shape);
        }
    long batch = g->train.batch;
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        switch (v->op) {
        case OP_param:
            break;
        case OP_input:
            v->area = AREA_INPUT;
            break;
        case OP_target:
            v->area = AREA_TARGET;
            break;
        case OP_constant:
            v->area = AREA_CONST;
            break;
        case OP_grad_store:
            v->area = AREA_GRAD;
            v->offset = v->grad_of->offset;
            break;
        default:
            v->area = AREA_ACT;
            v->offset = (int)p.act;
            p.act += (shape_size(&v->shape) + v->aux) * (v->batched ? batch : 1);
            if (p.act > (1L << 29))
                ICE("the activation area is too large");
        }
    }
    return p;
}
