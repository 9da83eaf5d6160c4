/* icount_dnnc.c — icount_main.c's adapter for dnnc's generated firmware
 * (dnnc --inference --embed-weights W --emit=selftest --golden G): one
 * inference is NAME_forward on the first stored sample; the check is the
 * generated NAME_selftest. -DMODEL=lenet5 -DMODEL_UC=LENET5, as
 * examples/firmware/main.c; any model with one input and one output. */
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define STR_(x) #x
#define STR(x) STR_(x)
#define M(x) CAT(MODEL, x)
#define MU(x) CAT(MODEL_UC, x)
#include STR(MODEL.h)

void infer_setup(void);
void infer_once(void);
int infer_check(void);

static M(model) model;
static float out[sizeof M(selftest_want0) / sizeof M(selftest_want0)[0] / MU(SELFTEST_SAMPLES)];

void infer_setup(void) {
    M(init)(&model, 0);
}

void infer_once(void) {
    M(forward)(&model, M(selftest_in0), out, 1);
}

int infer_check(void) {
    float worst;
    return M(selftest)(&model, &worst);
}
