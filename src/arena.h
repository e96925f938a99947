/*
 * arena.h - a bump allocator for per-turn scratch.
 *
 * Memory comes from chunks of at least chunk_size bytes; everything is freed
 * at once by lc_arena_reset() (chunks kept for reuse) or lc_arena_release().
 * The arena has a cap on the bytes its chunks may hold in total, so scratch
 * fed by the outside world cannot grow without bound.
 *
 * The caller owns the struct; the arena owns its chunks.
 */
#ifndef LC_ARENA_H
#define LC_ARENA_H

#include <stddef.h>

struct lc_arena_chunk;

typedef struct lc_arena {
	struct lc_arena_chunk *head; /* first chunk */
	struct lc_arena_chunk *cur;  /* chunk allocations come from */
	size_t chunk_size;           /* bytes in a normal chunk */
	size_t total;                /* bytes held by all chunks */
	size_t max;                  /* cap on total */
} lc_arena;

/* Default chunk size, bytes. */
#define LC_ARENA_CHUNK 65536

/* Empty arena whose chunks may hold at most max bytes in all. */
void lc_arena_init(lc_arena *a, size_t max);

/*
 * size bytes aligned for any type, valid until the next reset or release.
 * Returns NULL with LC_ETOOBIG (cap reached) or LC_ENOMEM in the error slot.
 * size 0 returns a valid pointer to no bytes.
 */
void *lc_arena_alloc(lc_arena *a, size_t size);

/* Copy of the first n bytes of s plus a NUL, in the arena. NULL as above. */
char *lc_arena_strndup(lc_arena *a, const char *s, size_t n);

/* Forget every allocation; keep the chunks for reuse. */
void lc_arena_reset(lc_arena *a);

/* Free every chunk. NULL is fine. */
void lc_arena_release(lc_arena *a);

#endif
