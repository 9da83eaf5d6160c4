/* test_set_hparam.c — NAME_set_hparam's contract (generated-c.md, "Run-time
 * hyper-parameters") on plain_sgd.dnn and iris_step.dnn (built with
 * -include of both headers): 0 for the model's names, DNN_E_HPARAM for an
 * unknown name, DNN_E_NOSTATE for one the compiled optimizer or schedule
 * has no state for, DNN_E_ARG out of range, and on every error the model
 * struct unchanged byte for byte. The values come from NAME_init, and a
 * set lr is what the next step uses (m->lr, through the schedule). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#define CHECK_SUITE "hparams"
#include "../check.h"

static plain_sgd_model a, a_before;
static iris_step_model b, b_before;

/* set_hparam on a, expecting rc; on error the struct must not change */
#define SET_A(name, value, want)                                                                                       \
    do {                                                                                                               \
        memcpy(&a_before, &a, sizeof a);                                                                               \
        CHECK(plain_sgd_set_hparam(&a, name, value) == (want));                                                         \
        if ((want) != 0)                                                                                               \
            CHECK(!memcmp(&a_before, &a, sizeof a));                                                                    \
    } while (0)
#define SET_B(name, value, want)                                                                                       \
    do {                                                                                                               \
        memcpy(&b_before, &b, sizeof b);                                                                               \
        CHECK(iris_step_set_hparam(&b, name, value) == (want));                                                         \
        if ((want) != 0)                                                                                               \
            CHECK(!memcmp(&b_before, &b, sizeof b));                                                                    \
    } while (0)

/* SGD without momentum and without a schedule: lr and weight_decay only */
static void set_hparam_sgd(void) {
    plain_sgd_init(&a, 1);
    CHECK(a.hparams.lr == 0.1 && a.hparams.weight_decay == 0.0 && a.lr == 0.1f);
    SET_A("lr", 0.25f, 0);
    CHECK(a.hparams.lr == 0.25 && a.lr == 0.25f);
    SET_A("weight_decay", 1e-3f, 0);
    SET_A("momentum", 0.9f, DNN_E_NOSTATE); /* no momentum buffer was compiled */
    SET_A("dampening", 0.0f, DNN_E_NOSTATE);
    SET_A("beta1", 0.9f, DNN_E_NOSTATE);
    SET_A("gamma", 0.5f, DNN_E_NOSTATE);    /* no schedule */
    SET_A("learning_rate", 0.1f, DNN_E_HPARAM);
    SET_A("", 0.1f, DNN_E_HPARAM);
    SET_A(NULL, 0.1f, DNN_E_ARG);
    SET_A("lr", 0.0f, DNN_E_ARG);
    SET_A("lr", -1.0f, DNN_E_ARG);
    SET_A("lr", NAN, DNN_E_ARG);
    SET_A("lr", INFINITY, DNN_E_ARG);
    SET_A("weight_decay", -0.5f, DNN_E_ARG);
    plain_sgd_init(&a, 1); /* init restores the .dnn's values */
    CHECK(a.hparams.lr == 0.1 && a.hparams.weight_decay == 0.0);
}

/* Adam with the step schedule: betas, eps, every, gamma; the schedule follows */
static void set_hparam_adam_step(void) {
    iris_step_init(&b, 1); /* adam(lr = 0.01), step(every = 20, gamma = 0.7) */
    CHECK(b.hparams.lr == 0.01 && b.hparams.beta1 == 0.9 && b.hparams.beta2 == 0.999 && b.hparams.eps == 1e-8);
    CHECK(b.hparams.every == 20 && b.hparams.gamma == 0.7);
    SET_B("beta1", 0.8f, 0);
    SET_B("beta2", 1.0f, DNN_E_ARG);
    SET_B("beta1", -0.1f, DNN_E_ARG);
    SET_B("eps", 0.0f, 0);
    SET_B("momentum", 0.9f, DNN_E_NOSTATE);
    SET_B("alpha", 0.9f, DNN_E_NOSTATE);
    SET_B("k", 0.1f, DNN_E_NOSTATE);
    SET_B("period", 10.0f, DNN_E_NOSTATE);
    SET_B("every", 2.5f, DNN_E_ARG);
    SET_B("every", 0.0f, DNN_E_ARG);
    SET_B("gamma", INFINITY, DNN_E_ARG);
    iris_step_set_epoch(&b, 45); /* lr·γ^⌊45/20⌋ */
    CHECK(b.lr == (float)(0.01 * 0.7 * 0.7));
    SET_B("every", 50.0f, 0);    /* the schedule applies at once to the epoch set */
    CHECK(b.lr == 0.01f);
    SET_B("lr", 0.5f, 0);
    CHECK(b.lr == 0.5f);
    /* the double version is the .dnn's value exactly, the float one its float */
    CHECK(iris_step_set_hparam_exact(&b, "lr", 0.1) == 0 && b.hparams.lr == 0.1);
    CHECK(iris_step_set_hparam(&b, "lr", 0.1f) == 0 && b.hparams.lr == (double)0.1f);
}

int main(void) {
    RUN(set_hparam_sgd);
    RUN(set_hparam_adam_step);
    return check_failures != 0;
}
