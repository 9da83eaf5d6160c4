/* emit.h — what the files printing a model's C share: the state of one
 * model's emission (Out). emit.c prints the entry points and calls
 * emit_step.c (the step functions and their calls), emit_struct.c (the
 * header) and emit_update.c (initialisation and the optimizer), which call
 * nothing of emit.c. Included by those four only.
 */
#ifndef EMIT_H
#define EMIT_H

#include "dnnc.h"

typedef struct Step Step; /* a step function and how it is called (emit_step.c) */

typedef struct Out {
    Graph *g;
    const Plan *plan;
    FILE *c, *h;
    const char *name, *NAME;  /* model name, and upper-cased for macros */
    const char *source;       /* the .dnn file's base name, for comments */
    Step **steps;      /* the call computing each value (by id; a layer's gradients: the first), or NULL */
    const char **vname;       /* each value's name at call sites (name_values) */
    Map bodies;               /* signature+body → function name, to share identical steps */
    Map fn_names;             /* names in use */
    Map shared;               /* --optimize=size: the steps several layers call, declared DNN_NOINLINE */
    const char *prototypes;   /* ... by these declarations, printed before the steps */
    bool *for_outputs, *for_loss; /* forward values each entry point needs */
    const float *weights;     /* --embed-weights: the parameters, or NULL */
    bool small;               /* --optimize=size */
    bool f64;                 /* the double-precision twin (NAME_f64_*) being emitted */
    /* the entry point being printed (begin_body .. end_body) */
    FILE *entry;              /* where it goes; o->c is its calls, in memory, meanwhile */
    char *body;
    size_t body_len;
    const Value **locals;     /* the values it names, in order of first use */
    int nlocals;
    bool *declared;           /* by id: in locals */
} Out;

/* ---- emit_step.c: step functions, their calls, the names they pass ------------------------- */
void name_values(Out *o);                      /* o->vname */
void emit_step(Out *o, Value **nodes, int count); /* the function computing nodes[0..count), once */
void emit_constants(Out *o);                   /* the constants the calls pass */
int step_group(const Graph *g, int i);         /* how many nodes from values[i] one step computes */
void emit_call(Out *o, const Value *v);        /* the call of v's step, in the entry point being printed */
void begin_body(Out *o);                       /* an entry point's calls, then ... */
void end_body(Out *o);                         /* ... its local pointers before them */
const char *local(Out *o, const Value *v);     /* v's buffer in the entry point being printed */
const Value *storage_of(const Value *v); /* the value whose storage v shares (itself unless an alias) */

/* ---- emit_struct.c: NAME.h's part for the model -------------------------------------------- */
void emit_header(Out *o); /* size macros, the struct (model_members), prototypes */

/* ---- emit_update.c: initialisation, the optimizer, the schedule ------------------------------ */
void emit_init_param(Out *o, const Value *p);       /* NAME_init's filling of parameter p */
int trainable_ranges(const Graph *g, int (*r)[2]);  /* [begin, end) of params the optimizer updates */
void emit_step_fn(Out *o);                          /* NAME_step */
void emit_update_prologue(Out *o, bool any);        /* what a step's updates need first (any: some are trainable) */
void emit_fused_update(Out *o, const Value *p, const char *grad, int block_rows, const char *indent); /* fused into backward */
void emit_finite_check(Out *o, const Value *p);     /* --check-finite: p after its update */
void emit_schedule(Out *o);                         /* NAME_schedule: the learning rate */
void emit_set_epoch(Out *o);                        /* NAME_set_epoch */
void emit_set_hparam(Out *o);                       /* NAME_set_hparam(_exact) */

#endif
