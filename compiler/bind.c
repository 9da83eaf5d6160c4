/* bind.c — signatures: how a call binds to an op's (ops.def) or a train
 * setting's parameters.
 *
 * A signature is a string "x, units:int, bias:bool=true": tensor operands
 * first, then attributes "name:type=default" (int, num, bool, dims,
 * params, or a choice of words "mean|sum", bound as the word's index).
 * bind_args() binds a call's positional and keyword arguments, reporting
 * each mistake at the argument; attr_index() finds an attribute's slot.
 *
 * An op's call (bind_op_args) also takes the window attributes of conv2d
 * and the pools as lists: `kernel`, `stride` and `size` a number or
 * [h, w], `pad` a number, [top, bottom, left, right] or the word `same`.
 * The list's first number is the attribute's value; the others go to the
 * slots after the signature's attributes (window_slot), so that attribute
 * k stays Value.attr[k] for every pass that reads it. A number fills the
 * other slots with itself; `same` fills them all with ATTR_SAME, which the
 * shape rule turns into numbers.
 */
#include "dnnc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One parameter of a signature string "x, units:int, bias:bool=true". */
typedef struct SigParam {
    char name[32];
    char type[32];      /* "" for a tensor operand; "mean|sum" for a choice of words */
    char deflt[16];     /* "" when required */
} SigParam;

static int parse_sig(const char *sig, SigParam *ps) {
    int n = 0;
    while (sig && *sig && n < MAX_INPUTS + MAX_ATTRS) {
        SigParam *p = &ps[n++];
        memset(p, 0, sizeof *p);
        sscanf(sig, " %31[a-z0-9_]", p->name);
        const char *colon = strchr(sig, ':'), *comma = strchr(sig, ','), *eq = strchr(sig, '=');
        if (colon && (!comma || colon < comma))
            sscanf(colon + 1, "%31[a-z|]", p->type);
        if (eq && (!comma || eq < comma))
            sscanf(eq + 1, "%15[^,]", p->deflt);
        sig = comma ? comma + 1 : NULL;
    }
    return n;
}

/* A choice attribute ("mean|sum") binds the index of the word written. */
static bool is_choice(const char *type) { return strchr(type, '|') != NULL; }

/* The index of `word` among a choice's words, or -1; fills words[] (up to 8). */
static int choice_index(const char *type, const char *word, const char **words, int *nwords) {
    int found = -1;
    *nwords = 0;
    for (const char *w = type; *w && *nwords < 8; (*nwords)++) {
        size_t len = strcspn(w, "|");
        words[*nwords] = arena_printf("%.*s", (int)len, w);
        if (word && !strcmp(words[*nwords], word))
            found = *nwords;
        w += len + (w[len] == '|');
    }
    return found;
}

static const char *type_words(const char *type) {
    if (is_choice(type)) { /* "mean or sum", "a, b or c" */
        const char *words[8], *list = "";
        int n;
        choice_index(type, NULL, words, &n);
        for (int i = 0; i < n; i++)
            list = arena_printf("%s%s%s", list, i == 0 ? "" : i + 1 < n ? ", " : " or ", words[i]);
        return list;
    }
    if (!strcmp(type, "int")) return "a whole number";
    if (!strcmp(type, "num")) return "a number";
    if (!strcmp(type, "bool")) return "true or false";
    if (!strcmp(type, "dims")) return "a list of dimensions like [2, 3]";
    if (!strcmp(type, "params")) return "a parameter name, 'weights' or 'params'";
    return "a name";
}

/* Converts an attribute's expression; reports a type error. */
static bool attr_value(const SigParam *p, const char *what, const Node *arg, double *val) {
    if (is_choice(p->type)) {
        const char *words[8];
        int n, k = choice_index(p->type, arg->kind == N_NAME || arg->kind == N_STRING ? arg->name : NULL, words, &n);
        if (k >= 0 && arg->kind == N_NAME) {
            *val = k;
            return true;
        }
        error_at(arg->loc, "argument '%s' of %s must be %s", p->name, what, type_words(p->type));
        const char *near = arg->kind == N_NAME ? closest_name(arg->name, words, n) : NULL;
        if (k >= 0) /* reduction = "sum" */
            note("write it without quotes: %s = %s", p->name, arg->name);
        else if (near)
            note("did you mean '%s'?", near);
        else if (arg->kind == N_NAME && !strcmp(arg->name, "none") && !strcmp(p->name, "reduction"))
            note("a loss is one number: PyTorch's reduction='none' has no counterpart here");
        return false;
    }
    if (!strcmp(p->type, "dims") || !strcmp(p->type, "params") || !strcmp(p->type, "name")) {
        bool ok = !strcmp(p->type, "dims") ? arg->kind == N_LIST : arg->kind == N_NAME || arg->kind == N_CALL;
        if (!ok)
            error_at(arg->loc, "argument '%s' of %s must be %s", p->name, what, type_words(p->type));
        return ok;
    }
    if (!strcmp(p->type, "bool")) {
        if (arg->kind == N_NAME && (!strcmp(arg->name, "true") || !strcmp(arg->name, "false"))) {
            *val = !strcmp(arg->name, "true");
            return true;
        }
        error_at(arg->loc, "argument '%s' of %s must be true or false", p->name, what);
        return false;
    }
    if (!const_eval(arg, val)) {
        error_at(arg->loc, "argument '%s' of %s must be %s known at compile time", p->name, what,
                 type_words(p->type));
        return false;
    }
    if (!strcmp(p->type, "int") && *val != floor(*val)) {
        error_at(arg->loc, "argument '%s' of %s must be a whole number, got %s", p->name, what, num_str(*val));
        return false;
    }
    if (!strcmp(p->type, "int") && fabs(*val) > 2147483647.0) {
        error_at(arg->loc, "argument '%s' of %s must be a whole number %s, got %g", p->name, what,
                 *val > 0 ? "below 2147483648" : "above -2147483648", *val);
        return false;
    }
    return true;
}

/* The window attributes of an op's call, with their lists' lengths. */
static const struct Window {
    const char *name;
    int len;
    const char *list; /* how the list is written, for messages */
} windows[] = {{"kernel", 2, "[h, w]"}, {"stride", 2, "[h, w]"}, {"size", 2, "[h, w]"},
               {"pad", 4, "[top, bottom, left, right]"}};

static const struct Window *window_of(const SigParam *p) {
    for (size_t i = 0; i < sizeof windows / sizeof *windows; i++)
        if (!strcmp(p->type, "int") && !strcmp(p->name, windows[i].name))
            return &windows[i];
    return NULL;
}

/* The slot of the second number of attribute `at` (a window's), after the
 * nattrs attributes and the earlier windows' extra numbers. */
static int extra_slot(const SigParam *ps, int np, int at) {
    int slot = 0, nattrs = 0;
    for (int i = 0; i < np; i++)
        if (ps[i].type[0]) {
            nattrs++;
            if (i < at && window_of(&ps[i]))
                slot += window_of(&ps[i])->len - 1;
        }
    return nattrs + slot;
}

/* Window attribute `name` of an op's signature: its index in ps[] (parsed into it), or -1 */
static int find_window(const char *sig, const char *name, SigParam *ps, int *np) {
    *np = parse_sig(sig, ps);
    for (int i = 0; i < *np; i++)
        if (!strcmp(ps[i].name, name) && window_of(&ps[i]))
            return i;
    return -1;
}

int window_slot(const char *sig, const char *name) {
    SigParam ps[MAX_INPUTS + MAX_ATTRS];
    int np, i = find_window(sig, name, ps, &np);
    return i < 0 ? -1 : extra_slot(ps, np, i);
}

/* How many numbers window attribute `name` of an op's signature holds (2 or 4); 0: not a window */
int window_len(const char *sig, const char *name) {
    SigParam ps[MAX_INPUTS + MAX_ATTRS];
    int np, i = find_window(sig, name, ps, &np);
    return i < 0 ? 0 : window_of(&ps[i])->len;
}

/* A window attribute: its first number into *val, every number into
 * extra[0 .. len-2]; false after an error. */
static bool window_value(const SigParam *p, const struct Window *win, const char *what, const Node *arg,
                         double *val, double *extra) {
    if (arg->kind == N_NAME && !strcmp(arg->name, "same") && win->len == 4) {
        *val = ATTR_SAME;
        for (int i = 0; i < win->len - 1; i++)
            extra[i] = ATTR_SAME;
        return true;
    }
    const char *expect = win->len == 4 ? arena_printf("a whole number, a list %s or same", win->list)
                                       : arena_printf("a whole number or a list %s", win->list);
    if (arg->kind != N_LIST) {
        if (arg->kind == N_NAME && !const_eval(arg, val)) { /* a word other than same */
            error_at(arg->loc, "argument '%s' of %s must be %s", p->name, what, expect);
            if (win->len == 4 && !strcmp(arg->name, "valid"))
                note("TensorFlow's 'valid' is no padding: pad = 0");
            return false;
        }
        if (!attr_value(p, what, arg, val))
            return false;
        for (int i = 0; i < win->len - 1; i++)
            extra[i] = *val;
        return true;
    }
    int count = 0;
    for (const Node *d = arg->list; d; d = d->next)
        count++;
    if (count != win->len) {
        error_at(arg->loc, "argument '%s' of %s must be %s, got a list of %d", p->name, what, expect, count);
        if (win->len == 4 && count == 2)
            note("a list of two is not padding: write %s = [top, bottom, left, right]", p->name);
        return false;
    }
    int i = 0;
    for (const Node *d = arg->list; d; d = d->next, i++)
        if (!attr_value(p, what, d, i ? &extra[i - 1] : val))
            return false;
    return true;
}

/* An expression as a user would write it, for notes: "x", "0.5", "...". */
static const char *expr_words(const Node *n) {
    switch (n->kind) {
    case N_NUM: return n->text ? n->text : num_str(n->num);
    case N_NAME: return n->name;
    case N_KWARG: return arena_printf("%s = %s", n->name, expr_words(n->a));
    case N_CALL: return n->list ? arena_printf("%s(...)", n->name) : arena_printf("%s()", n->name);
    default: return "...";
    }
}

/* "dense(3)" for the call dense(x, 3): its arguments but the first. */
static const char *call_without_first(const Node *call) {
    const char *args = "";
    for (const Node *a = call->list ? call->list->next : NULL; a; a = a->next)
        args = arena_printf("%s%s%s", args, *args ? ", " : "", expr_words(a));
    return arena_printf("%s(%s)", call->name, args);
}

static bool bind(const char *sig, const char *what, const Node *call, const Node *first, Binding *b, bool windowed) {
    SigParam ps[MAX_INPUTS + MAX_ATTRS];
    int np = parse_sig(sig, ps);
    const Node *given[MAX_INPUTS + MAX_ATTRS] = {0};
    int pos = 0;
    bool ok = true, seen_kw = false;
    memset(b, 0, sizeof *b);

    if (first)
        given[pos++] = first;
    for (const Node *a = call->list; a; a = a->next) {
        if (a->kind == N_KWARG) {
            seen_kw = true;
            int i = 0;
            while (i < np && strcmp(ps[i].name, a->name))
                i++;
            if (i == np) {
                error_at(a->loc, "%s has no argument '%s'", what, a->name);
                const char *names[MAX_INPUTS + MAX_ATTRS];
                for (int j = 0; j < np; j++)
                    names[j] = ps[j].name;
                const char *near = closest_name(a->name, names, np);
                if (near)
                    note("did you mean '%s'?", near);
                else if (np) {
                    const char *list = "";
                    for (int j = 0; j < np; j++)
                        list = arena_printf("%s%s%s", list, j ? ", " : "", ps[j].name);
                    note("%s takes: %s", what, list);
                }
                ok = false;
            } else if (given[i]) {
                error_at(a->loc, "argument '%s' of %s is given twice", a->name, what);
                ok = false;
            } else
                given[i] = a->a;
        } else if (seen_kw) {
            error_at(a->loc, "positional argument after a keyword argument in %s", what);
            ok = false;
        } else if (pos >= np) {
            if (first && np == 1)
                error_at(a->loc, "too many arguments to %s: it takes only '%s', which the pipe supplies", what,
                         ps[0].name);
            else
                error_at(a->loc, "too many arguments to %s (it takes %d)", what, np - (first != NULL));
            ok = false;
            break;
        } else
            given[pos++] = a;
    }
    /* x |> dense(x, 3): the piped value was written again as the first
     * argument, so every argument is one place off; say that, once */
    if (first && ok && call->list && call->list->kind != N_KWARG && pos > 1 && ps[1].type[0] &&
        strcmp(ps[1].type, "dims") && strcmp(ps[1].type, "params") && strcmp(ps[1].type, "name") &&
        !is_choice(ps[1].type)) {
        double x;
        const Node *a = call->list;
        bool window = windowed && window_of(&ps[1]) && (a->kind == N_LIST || (a->kind == N_NAME && !strcmp(a->name, "same")));
        if (!window && !const_eval(a, &x) && !(a->kind == N_NAME && (!strcmp(a->name, "true") || !strcmp(a->name, "false")))) {
            error_at(a->loc, "argument '%s' of %s must be %s known at compile time", ps[1].name, what,
                     type_words(ps[1].type));
            note("in a pipe the piped value is the first argument: write '%s |> %s'", expr_words(first),
                 call_without_first(call));
            return false;
        }
    }
    for (int i = 0; i < np; i++) {
        const Node *arg = given[i];
        if (!ps[i].type[0]) { /* a tensor operand */
            if (!arg) {
                error_at(call->loc, "%s needs the operand '%s'", what, ps[i].name);
                ok = false;
            }
            b->tensors[b->ntensors++] = arg;
            continue;
        }
        int k = i - b->ntensors;
        b->locs[k] = arg ? arg->loc : call->loc;
        b->nodes[k] = arg;
        const struct Window *win = windowed ? window_of(&ps[i]) : NULL;
        double *extra = win ? &b->vals[extra_slot(ps, np, i)] : NULL;
        if (win && arg)
            ok = window_value(&ps[i], win, what, arg, &b->vals[k], extra) && ok;
        else if (arg)
            ok = attr_value(&ps[i], what, arg, &b->vals[k]) && ok;
        else if (ps[i].deflt[0] && is_choice(ps[i].type)) {
            const char *words[8];
            int nwords;
            b->vals[k] = choice_index(ps[i].type, ps[i].deflt, words, &nwords);
        } else if (ps[i].deflt[0]) {
            b->vals[k] = !strcmp(ps[i].deflt, "true") ? 1 : !strcmp(ps[i].deflt, "false") ? 0 : atof(ps[i].deflt);
            for (int j = 0; win && j < win->len - 1; j++)
                extra[j] = b->vals[k];
        } else {
            error_at(call->loc, "%s needs the argument '%s' (%s)", what, ps[i].name, type_words(ps[i].type));
            ok = false;
        }
    }
    return ok;
}

bool bind_args(const char *sig, const char *what, const Node *call, const Node *first, Binding *b) {
    return bind(sig, what, call, first, b, false);
}

bool bind_op_args(const char *sig, const char *what, const Node *call, const Node *first, Binding *b) {
    return bind(sig, what, call, first, b, true);
}

int attr_index(const char *sig, const char *name) {
    SigParam ps[MAX_INPUTS + MAX_ATTRS];
    int np = parse_sig(sig, ps), k = 0;
    for (int i = 0; i < np; i++) {
        if (!ps[i].type[0])
            continue;
        if (!strcmp(ps[i].name, name))
            return k;
        k++;
    }
    return -1;
}
