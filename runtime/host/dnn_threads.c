/* dnn_threads.c — the host's thread pool behind dnn_parallel_for (dnn.h).
 *
 * dnn_set_threads(N) starts N − 1 workers and sets dnn_parallel_for; the
 * caller's thread is the Nth. A loop of n items is cut into N contiguous
 * ranges, fixed by N and n alone (the kernels' results do not depend on
 * the split anyway: dnn_kernels.h hands over only items with sums of their
 * own). Range i is thread i's (the caller's is range 0, worker i's range
 * i): a step's loops over the same rows then run on the same thread every
 * time, so a weight row, its gradient and its optimizer state stay in one
 * core's cache (bench/README.md, "Issue 21 on a Zen 5": moving them between
 * cores cost more than the second core saved). A thread that has run its
 * own range takes any range no one has started, so a worker the system has
 * not scheduled yet delays nothing: on a busy machine the caller runs the
 * loop alone.
 *
 * A train step hands over a dozen loops of tens of microseconds each, so a
 * worker spins a while for the next (DNN_SPIN polls) before it sleeps on
 * the condition variable: waking a sleeping thread costs about as much as
 * a small loop. A loop handed over while the pool is busy (from inside a
 * range, or from another thread) runs in one piece on the calling thread.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "dnn_host.h"

enum { DNN_SPIN = 1 << 10 }; /* polls of an idle worker before it sleeps: 25 µs on a Zen 3 */

/* A range's claim: the number of the loop it belongs to, << 1, | 1 once a
 * thread has taken it. The loop's publisher sets it free; a thread takes
 * it with a compare-and-swap from free-in-this-loop, so one that read an
 * older loop's number takes nothing of a newer one. Own cache line each. */
typedef struct {
    unsigned long long state;
    char pad[64 - sizeof(unsigned long long)];
} range_claim;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t worker[DNN_MAX_THREADS];
    int threads;              /* the workers and the caller */
    unsigned number;          /* the current loop's number (atomic) */
    unsigned first;           /* the number before the workers' first loop */
    int done;                 /* ranges of the current loop finished (atomic) */
    int busy;                 /* a loop is running (atomic) */
    int stop;                 /* set with a new number: the workers return */
    dnn_parallel_body *body;  /* the current loop, set before its number */
    void *ctx;
    int n, parts;
    range_claim range[DNN_MAX_THREADS];
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .threads = 1};

static void relax(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

/* Takes range i of loop `number` if it is still free there, and runs it. */
static void run_range(unsigned number, int i) {
    unsigned long long free = (unsigned long long)number << 1;
    if (!__atomic_compare_exchange_n(&pool.range[i].state, &free, free | 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;
    const long n = pool.n, parts = pool.parts;
    const int lo = (int)(n * i / parts), hi = (int)(n * (i + 1) / parts);
    if (lo < hi)
        pool.body(pool.ctx, lo, hi);
    __atomic_fetch_add(&pool.done, 1, __ATOMIC_RELEASE);
}

/* Thread `self`'s range of loop `number`, then those no one has taken. A
 * range taken is still free in loop `number`, so pool.parts is its loop's. */
static void run_ranges(unsigned number, int self) {
    const int parts = __atomic_load_n(&pool.parts, __ATOMIC_RELAXED);
    if (self < parts)
        run_range(number, self);
    for (int k = 1; k < parts; k++)
        run_range(number, (self + k) % parts);
}

static void *worker_main(void *arg) {
    const int self = (int)(long)arg;
    unsigned seen = pool.first;
    for (;;) {
        unsigned number = __atomic_load_n(&pool.number, __ATOMIC_ACQUIRE);
        for (int spin = 0; number == seen && spin < DNN_SPIN; spin++) {
            relax();
            number = __atomic_load_n(&pool.number, __ATOMIC_ACQUIRE);
        }
        if (number == seen) {
            pthread_mutex_lock(&pool.lock);
            while ((number = __atomic_load_n(&pool.number, __ATOMIC_ACQUIRE)) == seen)
                pthread_cond_wait(&pool.wake, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = number;
        if (__atomic_load_n(&pool.stop, __ATOMIC_ACQUIRE))
            return NULL;
        run_ranges(number, self);
    }
}

/* Starts loop number + 1 of `parts` ranges (0: stop) and wakes the sleeping workers. */
static unsigned publish(int parts) {
    const unsigned number = __atomic_load_n(&pool.number, __ATOMIC_RELAXED) + 1;
    __atomic_store_n(&pool.done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pool.parts, parts, __ATOMIC_RELAXED);
    for (int i = 0; i < parts; i++)
        __atomic_store_n(&pool.range[i].state, (unsigned long long)number << 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&pool.lock);
    __atomic_store_n(&pool.number, number, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    return number;
}

static void pool_for(dnn_parallel_body *body, void *ctx, int n) {
    if (__atomic_exchange_n(&pool.busy, 1, __ATOMIC_ACQUIRE)) { /* nested, or another thread's loop */
        body(ctx, 0, n);
        return;
    }
    const int parts = n < pool.threads ? n : pool.threads;
    pool.body = body, pool.ctx = ctx, pool.n = n;
    run_ranges(publish(parts), 0);
    for (int spin = 0; __atomic_load_n(&pool.done, __ATOMIC_ACQUIRE) < parts; spin++)
        if (spin < DNN_SPIN)
            relax();
        else /* a worker with a range was descheduled: let it run */
            sched_yield();
    __atomic_store_n(&pool.busy, 0, __ATOMIC_RELEASE);
}

/* Stops and joins the workers; dnn_parallel_for is serial again. */
static void pool_stop(void) {
    dnn_parallel_for = NULL;
    if (pool.threads <= 1)
        return;
    __atomic_store_n(&pool.stop, 1, __ATOMIC_RELAXED);
    publish(0);
    for (int i = 1; i < pool.threads; i++)
        pthread_join(pool.worker[i], NULL);
    __atomic_store_n(&pool.stop, 0, __ATOMIC_RELAXED);
    pool.threads = 1;
}

int dnn_set_threads(int n) {
    if (n < 1 || n > DNN_MAX_THREADS)
        return DNN_E_ARG;
    if (n == dnn_threads())
        return DNN_OK;
    pool_stop();
    if (n == 1)
        return DNN_OK;
    pool.threads = n;
    pool.first = __atomic_load_n(&pool.number, __ATOMIC_RELAXED); /* each worker waits for the next loop */
    for (int i = 1; i < n; i++)
        if (pthread_create(&pool.worker[i], NULL, worker_main, (void *)(long)i) != 0) {
            pool.threads = i; /* the ones started stop again */
            pool_stop();
            return DNN_E_IO;
        }
    dnn_parallel_for = pool_for;
    return DNN_OK;
}

int dnn_threads(void) { return dnn_parallel_for == pool_for ? pool.threads : 1; }

int dnn_cores(void) {
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > DNN_MAX_THREADS ? DNN_MAX_THREADS : (int)cores;
}
