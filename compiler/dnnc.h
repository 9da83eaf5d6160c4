/* dnnc.h — the compiler's internal header: a section per source file, in
 * the order of the layers (docs/design.md), each with its entry functions.
 *
 * The driver (main.c, through pipeline.c) runs: parse (grammar/, ast.c) →
 * lower.c (AST → IR graph) → shape.c (shape rules) → autodiff.c (backward
 * graph) → ir.c's fold_constants → plan.c (memory) → emit.c (C). Each pass has one entry function
 * taking and returning plain data; passes report every error they find and
 * the driver stops between passes when there was one. Below the passes:
 * util.c, the IR (ir.c), printing C (cprint.c), call binding (bind.c) and
 * the op table (ops.def; the rules in ops*.c, through ops_dispatch.c). A
 * file calls only files of earlier sections, never a later pass
 * (tests/layout checks it). Files that share more than this header have a
 * private one: ops_rules.h (ops*.c), lower.h (lower*.c), emit.h (emit.c,
 * emit_struct.c, emit_update.c).
 */
#ifndef DNNC_H
#define DNNC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DNNC_VERSION "0.1.0"
#define MAX_RANK 4        /* per-sample rank; the batch dimension is extra */
#define MAX_INPUTS 48     /* tensor operands of one IR node (a penalty's gradient node has the most) */
#define NODE_INPUTS 8     /* operand slots of a new IR node; ir_operands() makes more */
#define MAX_PENALTY (MAX_INPUTS - 2) /* tensors of one l1/l2 node: its gradient node also reads dy and the result */
#define MAX_ATTRS 12      /* numeric attributes of one IR node, with the window lists' extra numbers */
#define MAX_NESTING 256   /* expression depth the parser accepts */
#define MAX_ELEMENTS (1L << 28) /* largest per-sample tensor, in elements */

/* ---- util.c: arena, strings, diagnostics -------------------------------- */

/* A source span: bison's location type, 1-based lines and byte columns. */
typedef struct Loc {
    int first_line, first_column; /* where the construct starts */
    int last_line, last_column;   /* where it ends (inclusive) */
} Loc;

void *arena_alloc(size_t size);   /* zeroed; never fails (exits on OOM) */

/* A string → pointer hash map; zero-initialised is empty. */
typedef struct Entry {
    const char *key;    /* NULL when the slot is free */
    void *val;
} Entry;
typedef struct Map {
    Entry *slots;
    int cap, count;     /* slots (a power of two) / keys */
} Map;
void *map_get(const Map *m, const char *key);
void map_put(Map *m, const char *key, void *val);
const char *source_line(int line);  /* line `line` of the source, trimmed */
const char *source_text(Loc loc);   /* the text a one-line span covers, or NULL */
const char *source_call(Loc loc);   /* the call starting at loc, "dense(120)", if on one line and short; or NULL */
char *arena_strdup(const char *s);
char *arena_printf(const char *fmt, ...);
const char *num_str(double x);      /* shortest exact form: "99999999", "0.5", "1e+10" */
void arena_free_all(void);
const char *closest_name(const char *name, const char *const *cands, int n); /* the candidate within edit distance 2 (1 for short names), or NULL */
bool glob_match(const char *pat, const char *s);     /* `*` stands for any run of characters */
int glob_distance(const char *pat, const char *s);  /* edits from s to the nearest match of pat */

/* The file being compiled, kept for printing source lines in diagnostics. */
typedef struct Source {
    const char *path;   /* as given on the command line */
    const char *text;   /* whole contents, NUL-terminated */
    size_t len;         /* bytes, not counting the NUL */
} Source;

/* Resets the error count; diagnostics go to stream (NULL: stderr). */
void diag_init(const Source *src, FILE *stream, bool color, bool werror, bool no_warnings);
void diag_free(void);                  /* releases the line index (at exit) */
void error_at(Loc loc, const char *fmt, ...);
void warning_at(Loc loc, const char *fmt, ...);
void note(const char *fmt, ...);       /* a "note:" line for the last diagnostic */
int  error_count(void);
bool too_many_errors(void);            /* the 20-error limit was reached */
#if defined(__GNUC__)
#define NORETURN __attribute__((noreturn))
#else
#define NORETURN
#endif
/* Internal invariant: prints the compiler's own file and line, exits 70. */
#define ICE(...) ice(__FILE__, __LINE__, __VA_ARGS__)
NORETURN void ice(const char *file, int line, const char *fmt, ...);

/* ---- ast.c (grammar/lexer.l, grammar/parser.y): source → AST ------------ */

typedef enum {
    /* expressions */
    N_NUM, N_NAME, N_STRING, N_CALL, N_BINOP, N_NEG, N_PIPE, N_LIST, N_KWARG,
    /* statements */
    N_INPUT, N_TARGET, N_PARAM, N_ASSIGN, N_OUTPUT, N_LOSS, N_FREEZE, N_TRAIN,
    N_SETTING, N_MODEL
} NodeKind;

typedef struct Node Node;
struct Node {
    NodeKind kind;
    Loc loc;            /* the construct; for N_BINOP the operator */
    const char *name;   /* identifier, call or setting name, string text */
    double num;         /* N_NUM value */
    int op;             /* N_BINOP: '+', '-', '*', '/', '@' */
    Node *a, *b;        /* operands; N_PIPE: a |> b; statements: a = dims/expr, b = init/class;
                           N_SETTING: b = the name before ':' (augment INPUT: ...) */
    Node *list;         /* call arguments, list items, model statements, settings */
    Node *next;         /* next in a list */
    Node *tail;         /* list head only: the last item, for O(1) append */
    int depth;          /* expression nesting, bounded by MAX_NESTING */
    const char *text;   /* N_NUM: the literal as written */
};

Node *new_node(NodeKind kind, Loc loc);
Node *append(Node *list, Node *item);  /* returns the list head */
bool const_eval(const Node *n, double *out);   /* a constant expression's value; false if it is none */
double const_fold(int op, double a, double b); /* a op b, op one of + - * / */

/* Parses src; returns the list of N_MODEL nodes (NULL on an empty file). */
Node *parse_source(const Source *src);

/* ---- ops.c (ops.def): the op table; the rules are ops_*.c (ops_rules.h) --- */

typedef enum {
#define OP(name, sig, flags, shape, forward, backward, grad, cexpr, dexpr) OP_##name,
#include "ops.def"
#undef OP
    OP_COUNT
} OpKind;

enum {
    F_LAYER = 1,        /* creates parameters */
    F_LOSS = 2,         /* a loss: batched prediction → scalar */
    F_UNARY = 4,        /* elementwise, one operand */
    F_INTERNAL = 8,     /* not callable from .dnn source */
    F_BACKWARD = 16,    /* only appears in backward graphs */
    F_SHAPE = 32,       /* shape change of the same data (copied) */
    F_MODE = 64,        /* behaves differently in training: the step gets `int training` */
    F_RNG = 128,        /* draws random numbers: the step gets `dnn_rng *rng` */
};

typedef struct Value Value;
typedef struct Emitter Emitter;

typedef struct OpInfo {
    const char *name;   /* as written in .dnn and shown in messages */
    const char *sig;    /* "x, units:int, bias:bool=true" — see bind.c */
    int flags;          /* F_* */
    const char *cexpr, *dexpr; /* elementwise ops: the C expression and derivative (ops.def) */
} OpInfo;
extern const OpInfo op_info[OP_COUNT];

/* ---- ir.c: the IR every pass builds and reads --------------------------- */

typedef enum { DT_FLOAT, DT_CLASS } DType;

typedef struct Shape {
    int rank;           /* 0 for a scalar */
    int dim[MAX_RANK];  /* per sample; the batch dimension is not stored */
} Shape;

struct Value {
    int id;             /* index in Graph.values: creation order is topological */
    OpKind op;
    Value **in;         /* operands (NODE_INPUTS slots, or ir_operands()'s); NULL where optional and absent */
    int nin;
    double attr[MAX_ATTRS]; /* op-specific numbers, named by the op's signature */
    Loc attr_loc[MAX_ATTRS];/* where each attribute was written (or the call) */
    Shape shape;        /* per-sample shape, set by shape.c */
    bool batched;       /* carries the implicit batch dimension */
    bool shaped;        /* shape known (parameters get theirs from their user) */
    DType dtype;
    const char *name;   /* parameter key, or the statement's name for values */
    const char *label;  /* layer name shown in summaries: "features.3" */
    Loc loc;            /* where in the source it came from */
    int classes;        /* DT_CLASS: number of classes */
    /* parameters */
    bool trainable;     /* false when frozen */
    bool is_weight;     /* counts in `weights` (dense/conv/maxout weight) */
    bool is_bias;       /* a layer's bias (zero unless init is pytorch) */
    bool is_buffer;     /* non-trainable state saved with the weights (running stats) */
    bool is_explicit;   /* declared with `param` */
    bool has_fill;      /* initialised to the constant `fill` (batchnorm, prelu) */
    float fill;
    const Node *init;   /* explicit init expression, or NULL for the default */
    int fan_in, fan_out;
    /* filled by later passes */
    bool needs_grad;    /* depends on a trainable parameter (autodiff.c) */
    bool used;          /* reaches an output or the loss */
    int offset;         /* plan.c: offset in its storage area */
    int flash;          /* parameters: offset in NAME_weights (--embed-weights; every tensor, in NAME_tensors order) */
    int area;           /* plan.c: AREA_* */
    int index;          /* parameters: index in NAME_tensors; inputs: argument order */
    Value *grad_of;     /* backward: the parameter whose gradient this stores */
    Value *fwd;         /* F_BACKWARD: the forward node being differentiated */
    int grad_arg;       /* F_BACKWARD: which operand of fwd */
    int stmt_line;      /* .dnn line of the statement, for comments */
    int aux;            /* floats per sample the op keeps beside its result
                           (dropout's mask), stored after the result's slice */
    /* inference plans (plan.c) */
    Value *alias_of;    /* shares this value's storage and is not computed (reshape, eval dropout) */
    bool fused;         /* computed inside a later step (the conv and activation of a fused pool) */
    Value *fused_conv;  /* a pool computing conv2d → activation → pool: the conv ... */
    Value *fused_act;   /* ... and the activation between them, or NULL */
    Value *folded_bn;   /* a conv2d or dense whose following batchnorm is folded into its weight and into the
                           batchnorm's bias, which becomes the layer's bias (--inference --embed-weights) */
    Value *unfolded_bias; /* ... and the layer's own bias before it (or NULL): read once, by the fold */
    bool relu_grad;     /* a maxpool whose gradient step gives the gradient of the relu before it as well
                           (training on a host: plan.c's fuse_relu_backward) */
    Value *grad_via_pool; /* a conv2d whose backward needs only its bias gradient, taken straight from the
                           gradient of this maxpool (conv → relu → maxpool fused in training on the device) */
    int block_rows;     /* a dense weight gradient whose update is fused (training on the device): computed at
                           its store, block_rows rows at a time, each block updated at once; 0: whole */
    int ring, ring_offset; /* a conv2d computed over its operand's storage (--inference --optimize=size): the
                           floats of input rows it keeps aside (conv_in_place_ring), at this offset of m->act */
    struct Quant *q;    /* --quantize=int8 (quantize.c): how it is computed, or NULL where nothing is */
};

typedef struct Setting {
    const char *name;   /* "lr", "momentum", ... */
    double value;
} Setting;

typedef struct Train {
    const char *optimizer;   /* sgd adam adamw adagrad rmsprop */
    double lr, momentum, dampening, weight_decay, beta1, beta2, eps, alpha;
    bool nesterov;
    const char *schedule;    /* NULL, "step", "exponential", "inverse_time", "cosine" */
    double every, gamma, k;
    double period, min_lr;   /* cosine */
    bool per_step;           /* the schedule counts optimizer steps, not epochs */
    int batch, epochs;
    uint64_t seed;
    bool shuffle;
    const Node *init;        /* default init for layer weights, or NULL */
    double validation;
    int patience; double min_delta; bool early_stop;
    double clip_grad_norm;   /* 0: off */
    double ema_decay;        /* 0: off */
    bool qat;                /* `quantize int8;`: fake quantization in training (quantize.c's insert_fake_quant) */
    Loc qat_loc;
    struct Augment *augment; /* `augment` settings, in written order */
    int naugment;
} Train;

/* The input preprocessing a training program saved in a weights file's
 * metadata (dnn.scale, dnn.mean@NAME, dnn.std@NAME; docs/training.md):
 * input i is x = (float)(raw · scale), then (x − mean) / std, or x − mean
 * without std, with one statistic per element or per channel. */
typedef struct Preprocess {
    double scale;            /* dnn.scale, 1 without it */
    float **mean, **std;     /* [ninputs]: groups[i] values each, or NULL */
    int *groups;             /* [ninputs]: the input's size, or its channels (first dimension) */
} Preprocess;

/* One `augment [INPUT:] TRANSFORM(...);` of the train block. */
typedef struct Augment {
    const char *kind;        /* "noise", "hflip", "crop", "rotate" */
    int input;               /* index into the graph's inputs */
    double value;            /* noise: std; hflip: p; crop: pad; rotate: degrees */
    int line;                /* where it is written, for the generated comment */
} Augment;

typedef struct Graph {
    const char *name;        /* model name */
    Loc loc;
    Value **values; int nvalues, cap;
    Value **inputs; int ninputs;    /* inputs in declaration order */
    Value **targets; int ntargets;
    Value **outputs; int noutputs;
    const char **output_names;
    Loc *output_locs;        /* each output statement's name, for messages */
    Value **params; int nparams;    /* parameters in creation order */
    Value *loss;
    Train train;
    /* autodiff.c */
    Value **grads;           /* gradient-storing nodes, one per trainable param */
    int nforward;            /* values[0..nforward) are the forward graph */
    bool inference;          /* --inference: forward only, nothing differentiated */
    bool small;              /* --optimize=size: an inference plan computes convolutions over their input */
    bool embedded;           /* --embed-weights: the weights are const arrays (flash); a training build keeps
                                only trainable parameters and buffers in RAM, frozen ones stay in flash */
    bool fused_update;       /* an embedded training build without clip_grad_norm: NAME_train_step applies each
                                update as soon as its gradient is complete; no gradient buffers */
    bool int8;               /* --quantize=int8: quantize_graph ran; emit_int8.c prints the model */
    long q8_act, q8_float;   /* int8: bytes of uint8 activations, floats of float ones (the tail) */
    long q8_scratch;         /* int8: the most bytes of scratch a conv step puts on its stack */
    bool check_finite;       /* --check-finite: every step's result checked for NaN and infinity */
    const Preprocess *prep;  /* read_weights: the weights file's preprocessing, for NAME_preprocess */
} Graph;

Value *new_value(Graph *g, OpKind op, Loc loc);
void ir_operands(Value *v, int n);      /* room for n operands (at most MAX_INPUTS) */
void push_value(Value ***arr, int *n, Value *v); /* appends to a growing array */
void mark_needed(const Graph *g, const Value *root, bool *needed); /* sets needed[] for root and what it reads */
void replace_uses(Graph *g, const Value *old, Value *v); /* operands and outputs reading old read v */
bool elementwise_step(const Graph *g, const Value *v); /* its result may take its operand's place (plan.c) */
const char *shape_str(const Shape *s);   /* "[16, 5, 5]" */
long shape_size(const Shape *s);        /* elements; LONG_MAX if that overflows */
long mul_capped(long a, long b);         /* a * b, or LONG_MAX on overflow */
Value *ir_binary(Graph *g, OpKind op, Value *a, Value *b, Loc loc); /* ir_node(g, op, loc, a, b, NULL) */
Value *ir_node(Graph *g, OpKind op, Loc loc, Value *a, Value *b, Value *c); /* operands a[, b[, c]], unshaped */
/* Arithmetic whose operands are all constants (per-sample scalars) becomes
 * a constant of the same float bits, so no step computes it. */
void fold_constants(Graph *g);

/* ---- cprint.c: printing C ----------------------------------------------- */

/* What an op's emitter sees (emit.c makes one per step): it prints the
 * body of one step function whose parameters are `out` (the result), `in0`,
 * `in1`, ... (the operands) and `n` (samples in the batch). For a backward
 * emitter the result is `dx` (the gradient of operand `arg`), the incoming
 * gradient `dy`, and `out` is the forward result. Operands are laid out
 * [n][size] when batched, [size] when not. */
struct Emitter {
    FILE *out;          /* the body being printed */
    const Graph *g;
    int indent;         /* current indentation level */
    bool generic;       /* --optimize=size: sizes become parameters, so equal-shaped code is shared */
    int ndims;          /* the size parameters dim() created, in order */
    const char *dim_names[16];
    long dim_values[16];
    bool f64;           /* --main's double-precision twin: emit() prints each line through f64_text() */
    FILE *defs;         /* definitions the step needs before it (a fused step's activation) */
    bool small;         /* --optimize=size (also in backward steps, which keep constant sizes) */
    unsigned step_args; /* a backward step's gradients (bit k: operand k's, written to dxK), else 0 */
};
void emit(Emitter *e, const char *fmt, ...);  /* one indented line */
/* A line of float C as double C: `float` → `double`, 1.5f → the same value
 * as a double literal, expf → exp (the float functions of <math.h>). */
const char *f64_text(const char *line);
/* A size in a step's body: the number ("120"), or with --optimize=size the
 * step's parameter `name` (the call passes 120), so layers that differ only
 * in sizes share one function. */
const char *dim(Emitter *e, const char *name, long value);
const char *flit(double x);                   /* a C float literal: "0.5f" */
const char *count_of(const Value *v);         /* "n * 4" or "4": floats in its buffer */
const char *samples_of(const Value *v);       /* "n" or "1" */
/* Threads (runtime/dnn_kernels.h's dnn_parallel_run_work): a step of a
 * training build (not --inference, --optimize=size or the double twin)
 * hands its kernel's loop to the program's threads when split_worth: the
 * loop's `work` multiply-adds a sample, at the full batch, reach
 * DNN_PARALLEL_WORK (a smaller one never would). emit_split prints into
 * e->defs a function running `call` on items lo .. hi of `items`, reading
 * the step's pointers out and in[] through a dnn_split `a` (a->out,
 * a->in[0..2], and the samples a->n),
 * and into the body the hand-over of `items` items of `work` multiply-adds
 * each (expressions). emit_hand_over: the same with the range function's
 * `body` (reading void *ctx) and the hand-over's `ctx` expression given
 * whole, for a step whose loop needs more than a dnn_split (`unit`: what
 * its items are, for the comment). emit_by_sample: the kernel call
 * kernel(args, n, sizes) split by sample, args[i] advanced by stride[i] floats a sample
 * (0: not batched), or that call itself when the step keeps one thread. */
bool split_worth(const Emitter *e, long work);
void emit_split(Emitter *e, const Value *v, const char *what, const char *out, const char *const in[3],
                const char *items, const char *work, const char *call);
void emit_hand_over(Emitter *e, const Value *v, const char *what, const char *unit, const char *ctx, const char *items,
                    const char *work, const char *body);
void emit_by_sample(Emitter *e, const Value *v, const char *what, const char *kernel, const char *const *args,
                    const long *stride, int nargs, const char *sizes, long work);
const char *upper(const char *s);             /* "name" → "NAME", for macros */
const char *c_ident(const char *s);           /* "features.3" → "features_3" */
const char *arg_name(const char *s);          /* a .dnn name as a C parameter: "n" → "n_" (taken or a keyword) */

/* ---- bind.c: a call bound to a signature -------------------------------- */

/* Binds a call's arguments to a signature (see ops.def): tensor operands go
 * to tensors[], attributes to vals[] with their locations. `what` names the
 * callee in messages. Returns false after reporting an error. */
typedef struct Binding {
    const Node *tensors[MAX_INPUTS]; int ntensors;
    double vals[MAX_ATTRS]; Loc locs[MAX_ATTRS];
    const Node *nodes[MAX_ATTRS];  /* the argument's expression, NULL for a default */
} Binding;
bool bind_args(const char *sig, const char *what, const Node *call, const Node *first, Binding *b);
/* bind_args for an op's call: also the window lists of conv2d and the
 * pools (kernel = [h, w], pad = [top, bottom, left, right] or same). */
bool bind_op_args(const char *sig, const char *what, const Node *call, const Node *first, Binding *b);
/* The index in Value.attr of the signature's attribute `name`, or -1. */
int attr_index(const char *sig, const char *name);
/* The slot of the second number of window attribute `name` (its others
 * follow), or -1. */
int window_slot(const char *sig, const char *name);
int window_len(const char *sig, const char *name);  /* numbers of a window attribute (2 or 4), 0: none */
#define ATTR_SAME (-0.5) /* pad = same until the shape rule resolves it (no whole number) */

/* ---- ops_dispatch.c: the rules of ops.def, through the table ------------ */

bool op_shape(Graph *g, Value *v);                      /* shape rule */
void op_grad(Graph *g, Value *v, Value *dy, Value **dx); /* gradient rule */
void op_emit(Emitter *e, const Value *v);               /* C for one node: its forward or backward emitter */
unsigned backward_reads(const Graph *g, const Value *b); /* bit k: backward node b's emitter reads b->in[k] */
bool backward_reads_mask(const Value *b, int k);        /* b reads b->in[k] only as a mask (where relu passed, ...) */
bool frozen_batchnorm(const Value *v);                  /* weight and bias frozen: eval mode in training too (ops_train.c) */
int dense_weight_block_rows(const Value *dense);        /* a fused update's block of a dense weight gradient (ops_dense.c) */
const char *dense_weight_rows_call(const Value *b, const char *drows, const char *dout, const char *inp, const char *row);
/* ops_conv.c: whether a conv2d → activation → pool step can run as one
 * kernel (dnn_conv2d_pool_forward: one group, square windows) */
bool conv_pool_fusable(const Value *conv, const Value *pool);
bool pool_backward_fusable(const Value *conv, const Value *pool); /* and its backward recomputes the maxima */
bool pool_tiles(const Value *pool);
long conv_in_place_ring(const Value *conv); /* floats of rows a conv2d over its own input keeps aside; 0: it cannot */
/* --quantize=int8: NULL when v's op has no int8 form, "" when it has, else why qnnpack refuses this one */
const char *op_int8(const Value *v);
void op_q8_float(const Value *v, float *y, const float *const *in); /* the calibration's float pass, one sample */
bool op_q8_emit(FILE *c, const Value *v, const char *id); /* its int8 step's body; false: none (the same bytes) */

/* ---- lower.c (lower_train.c, lower.h): AST → IR ------------------------- */

/* Names resolved, layers expanded into parameters, pipes applied, keyword
 * arguments bound. Returns one graph per model. */
Graph **lower_models(const Node *models, int *count);

/* ---- shape.c: shape check ----------------------------------------------- */

/* Runs every op's shape rule in order; reports shape errors and unused
 * values. Returns false on an error. */
bool check_shapes(Graph *g);

/* ---- autodiff.c: the backward graph ------------------------------------- */

/* Appends the backward graph (reverse mode). */
void differentiate(Graph *g);

/* ---- optim.c (optimizers.def): the optimizers --------------------------- */

typedef struct Optimizer {
    const char *name;        /* as written: sgd, adam, ... */
    const char *torch;       /* its torch.optim class: "SGD" */
    const char *state[2];    /* its state arrays, each laid out like params, or NULL */
} Optimizer;
enum {
#define OPTIMIZER(name, torch, sig, state0, state1) OPTIMIZER_##name,
#include "optimizers.def"
#undef OPTIMIZER
    NUM_OPTIMIZERS
};
extern const Optimizer optimizers[NUM_OPTIMIZERS];
const Optimizer *optimizer_of(const Train *t);
int optimizer_states(const Train *t, const char **names); /* state arrays' names; returns how many */
bool is_adam(const Train *t);                             /* adam or adamw */
/* NAME_set_hparam's names for this optimizer and schedule (at most 8), and each one's .dnn value */
int hparam_names(const Train *t, const char **names);
double hparam_value(const Train *t, const char *name);

/* ---- plan.c: memory ----------------------------------------------------- */

/* Offsets of every value in the model struct. */
enum { AREA_NONE, AREA_PARAM, AREA_GRAD, AREA_ACT, AREA_INPUT, AREA_TARGET, AREA_CONST,
       AREA_FLASH, /* a frozen parameter of an embedded training build: in NAME_weights at Value.flash */
       AREA_OUTPUT /* an inference build's output, computed straight into the caller's array (Value.index: which) */ };
typedef struct Plan {
    long params, act;        /* floats in each area (params: in RAM) */
    long flash;              /* floats of every tensor, NAME_weights with --embed-weights */
    long trainable;          /* trainable scalars */
    long naive_act;          /* floats the activations would take without reuse or fusion */
    long peak_live;          /* the most floats alive at once, a lower bound for act */
} Plan;
Plan plan_memory(Graph *g);
/* A lower bound of the activation bytes any plan of g's steps needs, from
 * the steps alone (after plan_memory or plan_inference). */
long activation_bound(const Graph *g);
/* --inference: the values the outputs need; fuses conv2d → activation →
 * pool, aliases reshapes, and reuses every slice once it is dead. */
Plan plan_inference(Graph *g);

/* ---- quantize.c: --quantize=int8 ---------------------------------------- */

/* The calibration set: per graph input (g->inputs order), n samples of its
 * per-sample size, read by read_calibration (emit_main.c). */
typedef struct Cal {
    int n;
    const float **data;
} Cal;
/* A value of an int8 build (Value.q). PyTorch 1.13 eager post-training
 * static quantization (tests/quant/README.md): a uint8 tensor with a scale
 * and zero point, or a float one computed after a dequantize. */
typedef struct Quant {
    const char *name;        /* in the C and NAME_tensors: its label, unique among values with a scale */
    bool q8;                 /* uint8 (else float) */
    bool dequant;            /* storage that float steps read (its or a value's sharing it): dequantized into fact too */
    const Value *storage;    /* the value whose buffer it shares (itself; a flatten's operand; a fused relu's layer) */
    Value *relu;             /* dense/conv2d/add: the relu fused into it (its result is the relu's) */
    Value *pool;             /* conv2d: the maxpool computed with it (dnn_q8_conv2d_maxpool), or NULL */
    bool fused;              /* computed inside an earlier step (a relu by its layer, a maxpool by its conv2d) */
    float min, max;          /* what the calibration saw */
    float scale;             /* uint8 values: s and zp, the real value s·(q − zp) */
    int32_t zp;
    int offset;              /* bytes into act (uint8), or floats into fact (float) */
    int foffset;             /* dequant: floats into fact */
    int output;              /* a float value only an output reads: 1 + which, computed into the caller's array; else 0 */
    /* dense/conv2d: per output channel */
    int channels, k;         /* output channels, weights per channel */
    int8_t *w;
    float *w_scale, *m;      /* weight scales, requantization scales */
    int32_t *bias_q, *bias;  /* PyTorch's int32 bias, and the kernel's folded one */
    float *wf, *bf;          /* the folded float weights and bias (calibration) */
    const float *w_lo, *w_hi; /* --from-qat: the weight observer's running min and max per channel, or NULL */
    struct dnn_q8_add_params *add; /* add: the fixed-point parameters */
} Quant;
/* Folds batchnorms (float32, as torch.nn.utils.fusion), runs the float model
 * over cal observing where PyTorch's observers sit (--from-qat, cal NULL: takes
 * the ranges of a `quantize int8;` model's observers instead, as PyTorch's
 * convert of a QAT model, and drops its fake_quant nodes), and sets every Value.q:
 * scales, zero points, int8 weights, int32 biases, requantization scales.
 * weights: laid out as NAME_weights (Value.flash). false after an error
 * (an op with no int8 form between int8 ones). */
bool quantize_graph(Graph *g, const float *weights, const Cal *cal); /* cal NULL: --from-qat (below) */
bool insert_fake_quant(Graph *g); /* `quantize int8;`: fake quantization in the training graph (quantize.c) */
/* sizeof(NAME_model) of an int8 build: uint8_t act[], float fact[], uint8_t scratch[] (emit_int8.c) */
long q8_model_bytes(const Graph *g);
bool q8_has_qparams(const Value *v); /* an observer's value (input, dense, conv2d, add): its scale and zero point are tensors */

/* ---- emit_struct.c: the model struct and NAME.h ------------------------- */

/* The members of NAME_model, in order: what the header declares and what
 * --emit=report adds up to sizeof(NAME_model). Sizes and alignments are
 * those of the machine dnnc runs on. */
typedef enum Part { PART_PARAMS, PART_GRADS, PART_STATE, PART_ACT, PART_OTHER, PART_COUNT } Part;
typedef struct Member {
    const char *decl;        /* "float params[24]" */
    const char *comment;     /* the header's comment on it */
    long size, align;        /* bytes */
    Part part;               /* where --emit=report counts it */
} Member;
enum { MAX_MEMBERS = 16 };
int model_members(const Graph *g, const Plan *p, bool embedded, Member *out); /* returns how many */
/* sizeof(NAME_model) as a C compiler lays the members out (each at a multiple
 * of its alignment, the whole a multiple of the largest), and the bytes of
 * each Part, padding counted as PART_OTHER */
long model_bytes(const Graph *g, const Plan *p, bool embedded, long part[PART_COUNT]);
bool has_sampling_layer(const Graph *g); /* a layer samples in training (dropout): NAME_forward_mc is emitted */
void emit_size_macros(const Graph *g, FILE *h); /* NAME_BATCH and each input's, target's and output's NAME_X_SIZE */

/* ---- emit.c (emit_update.c, emit.h): the model's C ---------------------- */

typedef struct EmitOptions {
    const char *source;      /* the .dnn file's base name, for comments */
    const float *weights;    /* --embed-weights: the parameters, laid out as params, or NULL */
    bool small;              /* --optimize=size: steps that differ only in sizes share code */
    bool f64_twin;           /* --main: also NAME_f64_*, the model in double precision, for gradcheck */
} EmitOptions;
bool emit_model(Graph *g, const Plan *p, const EmitOptions *o, FILE *c, FILE *h);
/* emit_int8.c: an int8 build (after quantize_graph), the API of --inference */
bool emit_int8_model(Graph *g, const EmitOptions *o, FILE *c, FILE *h);
int min_train_batch(const Graph *g); /* 2 when a batchnorm cannot train on one sample, else 1 */
/* NAME_preprocess: the input preprocessing of the embedded weights' metadata (g->prep), in the .h and .c */
void emit_preprocess(const Graph *g, FILE *c, FILE *h);

/* ---- emit_main.c: --main and --emit=selftest ---------------------------- */

/* --main: the training program's description and main(). */
bool emit_program(Graph *g, const Plan *p, const char *source, FILE *c);
/* --emit=selftest: NAME_selftest() with a golden file's samples (and weights) baked in. */
/* A safetensors file laid out as params, or NULL after a message; sets
 * g->prep from the file's metadata. */
float *read_weights(Graph *g, const char *path);
bool qat_weights_ok(const Graph *g, const char *path); /* --from-qat: the file holds the observers' buffers */
/* --calibrate FILE: per input, an F32 tensor [N, its shape...]; NULL after a message */
Cal *read_calibration(const Graph *g, const char *path);
void fold_batchnorm_weights(const Graph *g, float *weights); /* ops_train.c: the folds plan_inference chose */
bool emit_selftest(Graph *g, const char *weights, const char *golden, FILE *c, FILE *h);

/* ---- summary.c: --emit=summary, ir, report ------------------------------ */

/* --emit=summary and --emit=ir. */
void print_summary(Graph *g, FILE *out);
void print_ir(Graph *g, FILE *out);
/* --emit=report / report-json: per layer and in total, parameters, weight
 * bytes, RAM bytes and multiply-accumulates per sample; sizeof(NAME_model)
 * part by part (model_members). */
void print_report(Graph *g, const Plan *p, bool embedded, bool json, FILE *out);

/* ---- emit_dot.c: --emit=dot --------------------------------------------- */

/* The forward graph (and with --backward the backward one) for Graphviz. */
void print_dot(Graph *g, bool backward, FILE *out);

/* ---- pipeline.c: the passes in order (main.c and tests/fuzz call them) --- */

typedef struct Compiled {
    Graph **graphs;     /* the models of the file, in order */
    Plan *plans;        /* their memory plans */
    int count;
} Compiled;
/* Parses src and runs every pass up to the memory plan (batch: the
 * --batch override or 0; inference: forward only; embedded: the weights
 * will be embedded). false after errors, which are diagnosed. */
bool compile_source(const Source *src, long batch, bool inference, bool embedded, bool small, Compiled *out);
typedef struct CFiles {
    const char *stamp;       /* the "Generated by dnnc" comment both files start with */
    const char *guard;       /* the header's include guard */
    const char *header_name; /* what the .c includes; NULL: the header leads the same stream */
    EmitOptions emit;
    bool with_main;          /* --main: also the training program */
    const char *golden, *weights; /* --emit=selftest's files (golden NULL: no selftest) */
} CFiles;
/* Writes the .c and .h of every model; false after an error (diagnosed). */
bool emit_c_files(const Compiled *m, const CFiles *o, FILE *c, FILE *h);

#endif
