/* insn_count.c — a QEMU TCG plugin that counts the guest instructions a
 * run executes and prints "insns N" when QEMU exits. Every translated
 * instruction gets an inline 64-bit add before it, so an instruction counts
 * when it starts executing, whether or not its block runs to the end.
 * Conditional instructions whose condition fails count too (the core
 * issues them). Single vCPU only (the add is not atomic).
 *
 * With the argument pcs=FILE it also counts per instruction address (the
 * first 4 MiB, mps2-an386's code memory) and writes "ADDRESS COUNT" lines,
 * in decimal, to FILE at exit, for tests/firmware/iprofile.sh.
 *
 * Written against QEMU's plugin API version 1 (used with QEMU 7.2, Debian
 * 12): the few declarations it needs are written out below, so no QEMU
 * headers are required. Build: cc -shared -fPIC -O2 insn_count.c -o insn_count.so
 * Use: qemu-system-arm ... -plugin ./insn_count.so[,pcs=FILE] -d plugin */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))
typedef uint64_t qemu_plugin_id_t;
typedef struct {
    const char *target_name;
    struct { int min, cur; } version;
    bool system_emulation;
    union { struct { int smp_vcpus, max_vcpus; } system; };
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*udata_cb)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
                                                void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb cb, void *userdata);
void qemu_plugin_outs(const char *string);

EXPORT int qemu_plugin_version = 1;

uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);

#define CODE_BYTES (4u << 20)

static uint64_t executed;
static uint64_t *per_halfword; /* pcs=FILE: executions by address / 2 (Thumb instructions are 2 or 4 bytes) */
static const char *pcs_path;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    for (size_t i = 0, n = qemu_plugin_tb_n_insns(tb); i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (per_halfword && pc < CODE_BYTES)
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &per_halfword[pc / 2], 1);
    }
}

static void print_count(qemu_plugin_id_t id, void *userdata) {
    (void)id, (void)userdata;
    char text[64];
    snprintf(text, sizeof text, "insns %" PRIu64 "\n", executed);
    qemu_plugin_outs(text);
    if (per_halfword) {
        FILE *f = fopen(pcs_path, "w");
        for (uint32_t i = 0; f && i < CODE_BYTES / 2; i++)
            if (per_halfword[i])
                fprintf(f, "%" PRIu32 " %" PRIu64 "\n", i * 2, per_halfword[i]);
        if (!f || fclose(f) != 0)
            qemu_plugin_outs("insn_count: cannot write the pcs file\n");
    }
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    if (argc > 1 || (argc == 1 && strncmp(argv[0], "pcs=", 4) != 0) ||
        (info->system_emulation && info->system.smp_vcpus != 1))
        return 1;
    if (argc == 1) {
        pcs_path = argv[0] + 4;
        per_halfword = calloc(CODE_BYTES / 2, sizeof *per_halfword);
        if (!per_halfword)
            return 1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, print_count, NULL);
    return 0;
}
