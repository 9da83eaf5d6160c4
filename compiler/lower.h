/* lower.h — what lower.c and lower_train.c share: the lowering context of
 * one model. lower.c calls lower_train.c, never the reverse. Included by
 * those two only. */
#ifndef LOWER_H
#define LOWER_H

#include "dnnc.h"

typedef struct Sym {
    Value *value;
    Loc loc;            /* where it was defined */
    NodeKind kind;      /* N_INPUT, N_ASSIGN, ... */
} Sym;

typedef struct Ctx {
    Graph *g;
    Map syms;           /* name → Sym */
    Map params;         /* parameter key → Value */
    const char *stmt;   /* the statement's name, for layers outside a pipe */
    int line;           /* the statement's line */
    bool had_loss;      /* a loss statement was seen (even one that failed) */
    Map later;          /* name → the statement defining it, for "defined at line N" */
} Ctx;

/* ---- lower_train.c: train { ... } --------------------------------------------------- */
void lower_train(Ctx *c, const Node *train);   /* the settings, into c->g->train */
void lower_augment(Ctx *c, const Node *train); /* its augment settings, once every input is declared */
bool check_init(const Node *init);             /* an init expression (param = INIT, train { init INIT; }) */

#endif
