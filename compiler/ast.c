/* ast.c — the syntax tree: the constructors the grammar actions call, and
 * the evaluation of constant expressions. */
#include "dnnc.h"

#include <math.h>
#include <stdlib.h>

Node *new_node(NodeKind kind, Loc loc) {
    Node *n = arena_alloc(sizeof *n);
    n->kind = kind;
    n->loc = loc;
    n->depth = 1;
    return n;
}

/* Appends item to a singly linked list whose head keeps its tail. */
Node *append(Node *list, Node *item) {
    if (!list) {
        item->tail = item;
        return item;
    }
    if (!list->tail)
        list->tail = list;
    list->tail->next = item;
    list->tail = item;
    return list;
}

/* a op b for the operators of constant expressions: + - * / */
double const_fold(int op, double a, double b) {
    return op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
}

/* Evaluates a constant expression. A left-associative chain (1 + 2 + ...)
 * is folded in a loop: such a chain can be a million terms long. */
bool const_eval(const Node *n, double *out) {
    double a, b;
    switch (n->kind) {
    case N_NUM:
        *out = n->num;
        return true;
    case N_NEG:
        if (!const_eval(n->a, &a))
            return false;
        *out = -a;
        return true;
    case N_BINOP: {
        const Node *bottom = n;
        int len = 1;
        while (bottom->a->kind == N_BINOP) {
            bottom = bottom->a;
            len++;
        }
        const Node **spine = malloc(sizeof *spine * (size_t)len);
        if (!spine)
            ICE("out of memory");
        for (const Node *p = n; len > 0; p = p->a)
            spine[--len] = p;
        bool ok = const_eval(bottom->a, &a);
        for (int i = 0; ok; i++) {
            ok = spine[i]->op != '@' && const_eval(spine[i]->b, &b);
            if (ok) {
                a = const_fold(spine[i]->op, a, b);
                ok = isfinite(a);
            }
            if (spine[i] == n)
                break;
        }
        free(spine);
        *out = a;
        return ok;
    }
    default:
        return false;
    }
}
