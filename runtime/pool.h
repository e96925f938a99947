/*
 * pool.h - a fixed set of worker threads that run one function together.
 *
 * lc_pool_run(p, fn, ctx) calls fn(ctx, ith, nth) once for every ith in
 * [0, nth), nth = lc_pool_n_threads(p): ith 0 on the calling thread, the
 * others on the workers, and returns when all have returned. fn splits the
 * work by ith itself (rows of a matrix product, heads of attention), so the
 * calls need no locking as long as they write disjoint memory.
 *
 * Workers spin briefly on a generation counter before sleeping on a
 * condition variable, since a forward pass issues hundreds of short runs per
 * token. One thread at a time calls lc_pool_run.
 */
#ifndef LC_POOL_H
#define LC_POOL_H

typedef struct lc_pool lc_pool;

typedef void (*lc_pool_fn)(void *ctx, int ith, int nth);

/*
 * A pool of n_threads threads in all, the caller's included (n_threads - 1
 * workers are started; 1 starts none). On success *out is owned (free with
 * lc_pool_free). Errors: LC_EPARSE (n_threads < 1 or > 256), LC_ENOMEM,
 * LC_ERROR (pthread_create failed).
 */
int lc_pool_new(lc_pool **out, int n_threads);

/* Join the workers and free. NULL is fine. */
void lc_pool_free(lc_pool *p);

int lc_pool_n_threads(const lc_pool *p);

/* Run fn(ctx, ith, nth) on every thread and wait for all of them. */
void lc_pool_run(lc_pool *p, lc_pool_fn fn, void *ctx);

#endif
