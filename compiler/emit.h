/* emit.h — what the files printing a model's C share: the state of one
 * model's emission (Out). emit.c prints the steps and entry points and
 * calls emit_struct.c (the header) and emit_update.c (initialisation and
 * the optimizer), which call nothing of emit.c. Included by those three only.
 */
#ifndef EMIT_H
#define EMIT_H

#include "dnnc.h"

typedef struct Out {
    Graph *g;
    const Plan *plan;
    FILE *c, *h;
    const char *name, *NAME;  /* model name, and upper-cased for macros */
    const char *source;       /* the .dnn file's base name, for comments */
    const char **fn;          /* step function of each value (by id), or NULL */
    Map bodies;               /* signature+body → function name, to share identical steps */
    Map fn_names;             /* names in use */
    bool *for_outputs, *for_loss; /* forward values each entry point needs */
    const float *weights;     /* --embed-weights: the parameters, or NULL */
    bool small;               /* --optimize=size */
    const char **dim_args;    /* each value's size arguments (", 120, 400"), for --optimize=size */
    bool f64;                 /* the double-precision twin (NAME_f64_*) being emitted */
} Out;

/* ---- emit_struct.c: NAME.h's part for the model -------------------------------------------- */
void emit_header(Out *o); /* size macros, the struct (model_members), prototypes */

/* ---- emit_update.c: initialisation, the optimizer, the schedule ------------------------------ */
void emit_init_param(Out *o, const Value *p);       /* NAME_init's filling of parameter p */
int trainable_ranges(const Graph *g, int (*r)[2]);  /* [begin, end) of params the optimizer updates */
void emit_update_fn(Out *o);                        /* NAME_update: one range's update */
void emit_step_fn(Out *o);                          /* NAME_step */
void emit_schedule(Out *o);                         /* NAME_schedule: the learning rate */
void emit_set_epoch(Out *o);                        /* NAME_set_epoch */
void emit_set_hparam(Out *o);                       /* NAME_set_hparam(_exact) */

#endif
