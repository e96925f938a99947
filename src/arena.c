#include "src/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"
#include "src/banned.h"

struct lc_arena_chunk {
	struct lc_arena_chunk *next;
	size_t size; /* bytes in data */
	size_t used; /* bytes handed out from data */
	alignas(max_align_t) unsigned char data[];
};

#define ALIGN alignof(max_align_t)

void lc_arena_init(lc_arena *a, size_t max)
{
	a->head = NULL;
	a->cur = NULL;
	a->chunk_size = LC_ARENA_CHUNK;
	a->total = 0;
	a->max = max;
}

static struct lc_arena_chunk *chunk_new(lc_arena *a, size_t size)
{
	struct lc_arena_chunk *c;

	if (size > a->max || a->total > a->max - size) {
		lc_err_set(LC_ETOOBIG, "arena: %zu more bytes would pass the cap of %zu", size,
		           a->max);
		return NULL;
	}
	if (size > SIZE_MAX - sizeof(*c)) {
		lc_err_set(LC_ETOOBIG, "arena: allocation of %zu bytes is too large", size);
		return NULL;
	}
	c = malloc(sizeof(*c) + size);
	if (!c) {
		lc_err_set(LC_ENOMEM, "arena: out of memory");
		return NULL;
	}
	c->next = NULL;
	c->size = size;
	c->used = 0;
	a->total += size;
	return c;
}

void *lc_arena_alloc(lc_arena *a, size_t size)
{
	struct lc_arena_chunk *c, *n;
	size_t need;

	if (size > SIZE_MAX - ALIGN) {
		lc_err_set(LC_ETOOBIG, "arena: allocation of %zu bytes is too large", size);
		return NULL;
	}
	need = (size + ALIGN - 1) & ~(ALIGN - 1);
	/* Use the current chunk, then any chunk kept by a reset. */
	for (c = a->cur; c; c = c->next) {
		if (c->size - c->used >= need) {
			void *p = c->data + c->used;
			c->used += need;
			a->cur = c;
			return p;
		}
	}
	n = chunk_new(a, need > a->chunk_size ? need : a->chunk_size);
	if (!n)
		return NULL;
	/* Append at the end so chunks kept by a reset stay in order. */
	if (!a->head) {
		a->head = n;
	} else {
		for (c = a->cur ? a->cur : a->head; c->next; c = c->next)
			;
		c->next = n;
	}
	a->cur = n;
	n->used = need;
	return n->data;
}

char *lc_arena_strndup(lc_arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX) {
		lc_err_set(LC_ETOOBIG, "arena: string too long");
		return NULL;
	}
	p = lc_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void lc_arena_reset(lc_arena *a)
{
	struct lc_arena_chunk *c;

	for (c = a->head; c; c = c->next)
		c->used = 0;
	a->cur = a->head;
}

void lc_arena_release(lc_arena *a)
{
	struct lc_arena_chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->cur = NULL;
	a->total = 0;
}
