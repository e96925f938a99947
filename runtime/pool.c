#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "runtime/pool.h"
#include "src/err.h"
#include "src/banned.h"

/* Spins before a worker sleeps; about the time of a short matrix product. */
#define POOL_SPIN 20000

struct pool_worker {
	lc_pool *pool;
	pthread_t thread;
	int ith;
};

struct lc_pool {
	int n_threads;
	struct pool_worker *workers; /* n_threads - 1 */
	int n_started;

	pthread_mutex_t lock;
	pthread_cond_t wake;
	atomic_uint gen;     /* bumped for each run (and for shutdown) */
	atomic_int pending;  /* workers still inside the current run */
	atomic_int sleepers; /* workers waiting on wake */
	int stop;            /* under lock */

	lc_pool_fn fn;
	void *ctx;
};

static void *pool_main(void *arg)
{
	struct pool_worker *w = arg;
	lc_pool *p = w->pool;
	unsigned seen = 0;

	for (;;) {
		unsigned g;
		int spins = 0;

		while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
		       spins < POOL_SPIN)
			spins++;
		if (g == seen) {
			pthread_mutex_lock(&p->lock);
			atomic_fetch_add(&p->sleepers, 1);
			while ((g = atomic_load(&p->gen)) == seen && !p->stop)
				pthread_cond_wait(&p->wake, &p->lock);
			atomic_fetch_sub(&p->sleepers, 1);
			if (p->stop) {
				pthread_mutex_unlock(&p->lock);
				return NULL;
			}
			pthread_mutex_unlock(&p->lock);
		}
		seen = g;
		if (p->stop)
			return NULL;
		p->fn(p->ctx, w->ith, p->n_threads);
		atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
	}
}

int lc_pool_new(lc_pool **out, int n_threads)
{
	lc_pool *p;
	int i, err = 0;

	if (n_threads < 1 || n_threads > 256)
		return lc_err_set(LC_EPARSE, "pool: %d threads (1 to 256)", n_threads);
	p = calloc(1, sizeof(*p));
	if (!p)
		return lc_err_set(LC_ENOMEM, "pool: out of memory");
	p->n_threads = n_threads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	atomic_init(&p->gen, 0);
	atomic_init(&p->pending, 0);
	atomic_init(&p->sleepers, 0);
	if (n_threads > 1) {
		p->workers = calloc((size_t)n_threads - 1, sizeof(*p->workers));
		if (!p->workers) {
			err = lc_err_set(LC_ENOMEM, "pool: out of memory");
			goto fail;
		}
	}
	for (i = 0; i < n_threads - 1; i++) {
		p->workers[i].pool = p;
		p->workers[i].ith = i + 1;
		if (pthread_create(&p->workers[i].thread, NULL, pool_main, &p->workers[i]) != 0) {
			err = lc_err_set(LC_ERROR, "pool: cannot start thread %d", i + 1);
			goto fail;
		}
		p->n_started++;
	}
	*out = p;
	return 0;
fail:
	lc_pool_free(p);
	return err;
}

void lc_pool_free(lc_pool *p)
{
	int i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	atomic_fetch_add(&p->gen, 1);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->n_started; i++)
		pthread_join(p->workers[i].thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->workers);
	free(p);
}

int lc_pool_n_threads(const lc_pool *p)
{
	return p->n_threads;
}

void lc_pool_run(lc_pool *p, lc_pool_fn fn, void *ctx)
{
	if (p->n_threads == 1) {
		fn(ctx, 0, 1);
		return;
	}
	p->fn = fn;
	p->ctx = ctx;
	atomic_store(&p->pending, p->n_threads - 1);
	/*
	 * Sequentially consistent, like the sleepers count a worker raises
	 * before its last look at gen: either the worker sees the new gen or
	 * this thread sees it asleep and wakes it. Also publishes fn and ctx.
	 */
	atomic_fetch_add(&p->gen, 1);
	if (atomic_load(&p->sleepers) > 0) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->lock);
	}
	fn(ctx, 0, p->n_threads);
	while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
		;
}
