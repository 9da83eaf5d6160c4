/* fuzz_compiler.c — libFuzzer target: the whole compiler on the bytes given.
 *
 * Each input is compiled as a training build (parse, lower, check shapes,
 * differentiate, plan, then every --emit kind: summary, ir, report, dot
 * with the backward graph, the C of the models and, for one model, the
 * --main program) and, when that succeeds, again as an inference build
 * (plan_inference, report-json, --optimize=size C with the weights
 * embedded when they are few). Output goes to /dev/null; diagnostics too,
 * unless DNNC_FUZZ_VERBOSE is set. The arena and the line index are freed
 * after each build, so memory does not grow from input to input.
 * An internal error (ICE) exits 70, which libFuzzer reports as a crash.
 */
#include "dnnc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EMBEDDED 4096 /* parameters baked in as constants at most (keeps runs fast) */

static FILE *sink, *diags;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    sink = fopen("/dev/null", "w");
    diags = getenv("DNNC_FUZZ_VERBOSE") ? stderr : sink;
    return sink ? 0 : 1;
}

/* One build; false when the front end rejected the input. */
static bool build(const Source *src, bool inference) {
    diag_init(src, diags, false, false, false);
    Compiled m;
    bool ok = compile_source(src, 0, inference, false, false, &m);
    if (ok) {
        for (int i = 0; i < m.count; i++) {
            if (!inference) {
                print_summary(m.graphs[i], sink);
                print_ir(m.graphs[i], sink);
                print_dot(m.graphs[i], true, sink);
            }
            print_report(m.graphs[i], &m.plans[i], false, inference, sink);
        }
        float *weights = NULL;
        if (inference && m.count == 1 && m.plans[0].params <= MAX_EMBEDDED) {
            weights = arena_alloc(sizeof(float) * (size_t)(m.plans[0].params + 1));
            for (long k = 0; k < m.plans[0].params; k++)
                weights[k] = (float)(k % 7) * 0.25f - 0.5f;
        }
        CFiles files = {"/* fuzz */\n", "FUZZ_H", "fuzz.h", {"fuzz.dnn", weights, inference, !inference && m.count == 1},
                        !inference && m.count == 1, NULL, NULL};
        emit_c_files(&m, &files, sink, sink);
    }
    diag_free();
    arena_free_all();
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    Source src = {"fuzz.dnn", text, size};
    if (build(&src, false))
        build(&src, true);
    free(text);
    return 0;
}
