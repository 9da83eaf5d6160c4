/* ast.c — constructors for the syntax tree the grammar actions build. */
#include "dnnc.h"

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
