/* test_threads.c — the host's thread pool (host/dnn_threads.c): the
 * thread count's checks, every item of a loop run exactly once whatever
 * the count and the loop's length, the work really shared, a loop handed
 * over from inside a range run in one piece, and the pool stopped again. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "../check.h"
#include "dnn_host.h"

enum { ITEMS = 1000 };

typedef struct {
    int hits[ITEMS];    /* how often each item ran */
    int ranges;         /* body calls (atomic) */
    int entered;        /* threads inside a body so far (atomic), for `wait` */
    int wait;           /* each range waits (up to 2 s) until this many threads are inside one */
    pthread_t who[64];  /* the thread of each range, in the order they started */
    pthread_t at[ITEMS]; /* the thread of the range starting at each item */
} Loop;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void mark(void *ctx, int lo, int hi) {
    Loop *l = ctx;
    const int k = __atomic_fetch_add(&l->ranges, 1, __ATOMIC_ACQ_REL);
    if (k < 64)
        l->who[k] = pthread_self();
    l->at[lo] = pthread_self();
    __atomic_fetch_add(&l->entered, 1, __ATOMIC_ACQ_REL);
    for (const double t0 = now(); __atomic_load_n(&l->entered, __ATOMIC_ACQUIRE) < l->wait && now() - t0 < 2;)
        ;
    for (int i = lo; i < hi; i++)
        l->hits[i]++;
}

static int each_once(const Loop *l, int n) {
    for (int i = 0; i < n; i++)
        if (l->hits[i] != 1)
            return 0;
    return 1;
}

static Loop loop;

static void threads_count_checked(void) {
    CHECK(dnn_threads() == 1 && dnn_parallel_for == NULL);
    CHECK(dnn_set_threads(0) == DNN_E_ARG);
    CHECK(dnn_set_threads(-1) == DNN_E_ARG);
    CHECK(dnn_set_threads(DNN_MAX_THREADS + 1) == DNN_E_ARG);
    CHECK(dnn_threads() == 1 && dnn_parallel_for == NULL);
    CHECK(dnn_cores() >= 1 && dnn_cores() <= DNN_MAX_THREADS);
    CHECK(dnn_set_threads(1) == DNN_OK && dnn_parallel_for == NULL);
}

/* Three threads share a loop: three ranges, at least two threads ran them. */
static void threads_share_a_loop(void) {
    CHECK(dnn_set_threads(3) == DNN_OK);
    CHECK(dnn_threads() == 3 && dnn_parallel_for != NULL);
    memset(&loop, 0, sizeof loop);
    loop.wait = 2;
    dnn_parallel_for(mark, &loop, ITEMS);
    CHECK(each_once(&loop, ITEMS));
    CHECK(loop.ranges == 3);
    int distinct = 1;
    for (int k = 1; k < loop.ranges && k < 64; k++)
        distinct += !pthread_equal(loop.who[k], loop.who[0]);
    CHECK_MSG(distinct >= 2, "one thread ran every range");
}

/* Range i is thread i's, loop after loop (the caller's range 0), so a
 * step's loops over the same rows keep them on one core: three threads, each
 * range held until all three are inside one, so none takes another's. */
static void threads_range_keeps_its_thread(void) {
    CHECK(dnn_set_threads(3) == DNN_OK);
    pthread_t first[3];
    for (int rep = 0; rep < 5; rep++) {
        memset(&loop, 0, sizeof loop);
        loop.wait = 3;
        dnn_parallel_for(mark, &loop, 3);
        CHECK(each_once(&loop, 3));
        CHECK(pthread_equal(loop.at[0], pthread_self()));
        for (int i = 0; i < 3; i++) {
            if (!rep)
                first[i] = loop.at[i];
            CHECK_MSG(pthread_equal(loop.at[i], first[i]), "a range ran on another thread than in the first loop");
        }
    }
    CHECK(!pthread_equal(first[1], first[0]) && !pthread_equal(first[2], first[0]) && !pthread_equal(first[2], first[1]));
}

/* Many short loops of every length, after pool restarts: each item once. */
static void threads_every_item_once(void) {
    for (int threads = 1; threads <= 4; threads++) {
        CHECK(dnn_set_threads(threads) == DNN_OK && dnn_threads() == threads);
        for (int rep = 0; rep < 2000; rep++) {
            const int n = 1 + rep % 9;
            memset(&loop, 0, sizeof loop);
            if (dnn_parallel_for)
                dnn_parallel_for(mark, &loop, n);
            else
                mark(&loop, 0, n);
            CHECK(each_once(&loop, n));
            CHECK(loop.ranges == (threads < n ? threads : n));
        }
    }
}

static Loop inner;
static void nested(void *ctx, int lo, int hi) {
    (void)ctx;
    for (int i = lo; i < hi; i++) {
        memset(&inner, 0, sizeof inner);
        dnn_parallel_for(mark, &inner, 10); /* the pool is busy: in one piece, here */
        __atomic_fetch_add(&loop.hits[i], inner.ranges == 1 && each_once(&inner, 10), __ATOMIC_ACQ_REL);
    }
}

static void threads_nested_loop_serial(void) {
    CHECK(dnn_set_threads(2) == DNN_OK);
    memset(&loop, 0, sizeof loop);
    dnn_parallel_for(nested, NULL, 1);
    CHECK(loop.hits[0] == 1);
    CHECK(dnn_set_threads(1) == DNN_OK && dnn_threads() == 1 && dnn_parallel_for == NULL);
}

int main(void) {
    RUN(threads_count_checked);
    RUN(threads_share_a_loop);
    RUN(threads_range_keeps_its_thread);
    RUN(threads_every_item_once);
    RUN(threads_nested_loop_serial);
    return FAILED();
}
