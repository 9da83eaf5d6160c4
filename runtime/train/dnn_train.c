/* dnn_train.c — the training program of a generated model (dnnc --main):
 * dnn_main(), which reads the command line and runs its command.
 *
 * One driver for every model: the generated code describes the model in a
 * dnn_program and runtime/train does the rest — reading data (CSV, IDX,
 * NPY), mini-batch training with shuffling, validation, early stopping and
 * a weight average, progress and logs, atomic checkpoints that resume
 * bit-identically, evaluation with a confusion matrix, prediction,
 * gradient checking and golden-output checks. docs/training.md is the
 * user's guide. Its files, by job (what they share: train.h):
 *   dnn_train.c  dnn_main: the command to its function, --class-names
 *   options.c    the option table: parsing, suggestions, the usage text
 *   load.c       data files and standard input, CSV columns, class names,
 *                preprocessing (--scale, --standardize, --center)
 *   files.c      the weights file and its metadata, the starting weights
 *   runs.c       checkpoints, run-time hyper-parameters, run directories
 *   loop.c       train: the training loop
 *   eval.c       batches and scores; eval, predict and calibrate
 *   augment.c    augmentation of the training batches; the augment command
 *   gradcheck.c  gradcheck and check
 *
 * The model struct holds no pointers, so a copy of its bytes is a complete
 * snapshot (gradcheck restores one before every loss evaluation).
 */
#define _POSIX_C_SOURCE 200809L
#include "train.h"
#include "dnn_host.h"

/* ---- messages ------------------------------------------------------------------- */

const char *dnn_prog_name = "model";

/* ---- main --------------------------------------------------------------------------------------- */

/* --class-names A,B,...: the names of dnn_named_slot's classes, in class order. */
static int class_names(Run *r) {
    const dnn_program *p = r->p;
    int s = dnn_named_slot(p);
    if (s < 0) {
        fail("--class-names: the model has no class target to name");
        return 1;
    }
    const dnn_io *io = dnn_slot_io(p, s);
    char *list = strdup(r->o.class_names), **names = xcalloc(strlen(list) + 1, sizeof(char *));
    int n = 0, rc = 0;
    for (char *q = list, *end; q; q = end ? end + 1 : NULL) {
        if ((end = strchr(q, ',')))
            *end = 0;
        for (int c = 0; c < n && !rc; c++)
            if (!strcmp(names[c], q)) {
                fail("--class-names: '%s' is there twice", q);
                rc = 1;
            }
        if (!*q && !rc) {
            fail("--class-names: name %d is empty", n + 1);
            rc = 1;
        }
        names[n++] = q;
    }
    if (!rc && n > io->classes) {
        fail("--class-names gives %d names, but '%s' has %d classes", n, io->name, io->classes);
        rc = 1;
    }
    if (!rc)
        dnn_classes_set(&r->classes, s, io->classes, names, n, "--class-names");
    free(names);
    free(list);
    return rc;
}

int dnn_main(const dnn_program *p, int argc, char **argv) {
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    dnn_prog_name = argc > 0 ? (slash ? slash + 1 : argv[0]) : p->name;
    Run r;
    memset(&r, 0, sizeof r);
    r.p = p;
    int rc = dnn_parse_options(p, argc, argv, &r.o);
    if (rc) {
        for (int i = 0; i < r.o.nlists; i++)
            free(r.o.lists[i]);
        return rc < 0 ? 0 : rc;
    }
    if (p->ninputs + p->ntargets > MAX_SLOTS) {
        fail("the model has more than %d inputs and targets", MAX_SLOTS);
        return 2;
    }
    if (dnn_set_threads(r.o.threads ? r.o.threads : dnn_cores()) != DNN_OK) /* a thread could not start: one */
        fprintf(stderr, "%s: warning: the threads could not be started; running on one\n", dnn_prog_name);
    r.m = xcalloc(1, p->model_size);
    p->view(r.m, &r.v);
    if (r.o.class_names && class_names(&r))
        rc = 2;
    else if (!strcmp(r.o.command, "train"))
        rc = dnn_cmd_train(&r);
    else if (!strcmp(r.o.command, "eval"))
        rc = dnn_cmd_eval(&r);
    else if (!strcmp(r.o.command, "predict"))
        rc = dnn_cmd_predict(&r);
    else if (!strcmp(r.o.command, "gradcheck"))
        rc = dnn_cmd_gradcheck(&r);
    else if (!strcmp(r.o.command, "calibrate"))
        rc = dnn_cmd_calibrate(&r);
    else if (!strcmp(r.o.command, "augment"))
        rc = dnn_cmd_augment(&r);
    else
        rc = dnn_cmd_check(&r);
    dnn_prep_free(&r.prep);
    dnn_classes_free(&r.classes);
    for (int i = 0; i < r.o.nlists; i++)
        free(r.o.lists[i]);
    free(r.m);
    return rc;
}
