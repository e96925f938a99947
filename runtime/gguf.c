/*
 * gguf.c - the GGUF reader.
 *
 * Source: ggml's docs/gguf.md (versions 2 and 3; version 1 used 32-bit
 * counts and is refused). The parse is one forward pass over the file with a
 * cursor that checks every read against the bytes left; every count is
 * bounded by the bytes left before anything is allocated for it, so a hostile
 * header cannot make us allocate more than a small multiple of the file size.
 *
 * What is kept: per key its value's offset; per array a descriptor; for
 * arrays of strings and arrays of arrays an index with one entry per element
 * (the offset of a string, or the descriptor of a nested array), so element i
 * is found in O(1). Keys and tensor names get open-addressing hash tables,
 * which also find duplicates at open time. Tensor data is never copied.
 */
#include "runtime/gguf.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/qtype.h"
#include "src/err.h"
#include "src/banned.h"

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_KEY_LEN       65535        /* the spec's limit on a key */
#define GGUF_MAX_NAME_LEN      64           /* the spec's limit on a tensor name */
#define GGUF_MAX_NESTING       16           /* arrays of arrays, deepest accepted */
#define NAME_SHOW_MAX          (64 * 4 + 4) /* show_name(): 64 bytes as \xNN, "...", NUL */

struct arrdesc {
	uint32_t type; /* element type */
	uint64_t n;    /* element count */
	size_t data;   /* file offset of the first element */
	size_t index;  /* first entry in lc_gguf.index, for STRING and ARRAY elements */
};

struct kv {
	lc_gguf_str key;
	uint32_t type;
	size_t val; /* file offset of the value */
	size_t arr; /* descriptor, when type is ARRAY */
};

struct lc_gguf {
	const uint8_t *base;
	size_t size;
	void *map; /* the mapping, NULL for lc_gguf_open_memory */
	uint32_t version;
	uint32_t alignment;
	size_t data_offset; /* start of the data section in the file */

	struct kv *kvs;
	int64_t n_kv;
	lc_gguf_tensor *tensors;
	int64_t n_tensors;

	struct arrdesc *descs;
	size_t n_descs, cap_descs;
	uint64_t *index; /* string offsets or descriptor ids, see struct arrdesc */
	size_t n_index, cap_index;

	size_t *key_slots; /* hash table of kv index + 1, 0 = empty; size is a power of two */
	size_t key_mask;
	size_t *tensor_slots;
	size_t tensor_mask;
};

/* Parse state: a cursor over the file and a description of the item being read. */
struct parser {
	lc_gguf *g;
	size_t pos;
	char what[NAME_SHOW_MAX + 32]; /* "key 'general.name'", "tensor 'output.weight'", ... */
};

static const char *const type_names[LC_GGUF_TYPE_COUNT] = {
        "uint8", "int8",   "uint16", "int16",  "uint32", "int32",   "float32",
        "bool",  "string", "array",  "uint64", "int64",  "float64",
};

/* Bytes of one element of a fixed-size type, 0 for STRING and ARRAY. */
static size_t type_size(uint32_t type)
{
	static const size_t sizes[LC_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

	return type < LC_GGUF_TYPE_COUNT ? sizes[type] : 0;
}

static const char *type_name(uint32_t type)
{
	return type < LC_GGUF_TYPE_COUNT ? type_names[type] : "unknown";
}

/*
 * Write a name from the file into out for an error message: printable ASCII
 * as is, anything else as \xNN, cut after 64 bytes.
 */
static void show_name(char *out, size_t cap, const char *s, uint64_t len)
{
	size_t o = 0;
	uint64_t i;

	for (i = 0; i < len && i < 64 && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	if (i < len && o + 4 < cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static size_t left(const struct parser *ps)
{
	return ps->g->size - ps->pos;
}

/* Fail unless n more bytes are there; noun says what they are. */
static int need(struct parser *ps, uint64_t n, const char *noun)
{
	if (n > left(ps))
		return lc_err_set(LC_EPARSE, "gguf: %s of %s runs past end of file (offset %zu)",
		                  noun, ps->what, ps->pos);
	return 0;
}

static int get_u32(struct parser *ps, uint32_t *out, const char *noun)
{
	int rc = need(ps, 4, noun);

	if (rc == 0) {
		*out = rd32(ps->g->base + ps->pos);
		ps->pos += 4;
	}
	return rc;
}

static int get_u64(struct parser *ps, uint64_t *out, const char *noun)
{
	int rc = need(ps, 8, noun);

	if (rc == 0) {
		*out = rd64(ps->g->base + ps->pos);
		ps->pos += 8;
	}
	return rc;
}

/* A string: its length is checked against the file; *out points into it. */
static int get_str(struct parser *ps, lc_gguf_str *out, const char *noun)
{
	uint64_t len;
	int rc;

	if ((rc = get_u64(ps, &len, noun)) < 0 || (rc = need(ps, len, noun)) < 0)
		return rc;
	out->data = (const char *)ps->g->base + ps->pos;
	out->len = len;
	ps->pos += (size_t)len;
	return 0;
}

/* Make room for n more elements of size elsize in *arr (cap *cap, used *len). */
static int grow(void **arr, size_t *cap, size_t len, size_t n, size_t elsize)
{
	size_t want, newcap;
	void *p;

	if (n > SIZE_MAX - len)
		return lc_err_set(LC_ENOMEM, "gguf: index too large");
	want = len + n;
	if (want <= *cap)
		return 0;
	newcap = *cap ? *cap : 16;
	while (newcap < want)
		newcap = newcap > SIZE_MAX / 2 ? want : newcap * 2;
	if (newcap > SIZE_MAX / elsize)
		return lc_err_set(LC_ENOMEM, "gguf: index too large");
	p = realloc(*arr, newcap * elsize);
	if (!p)
		return lc_err_set(LC_ENOMEM, "gguf: out of memory for the metadata index");
	*arr = p;
	*cap = newcap;
	return 0;
}

/*
 * Parse an array value (element type, count, elements) at the cursor and
 * record its descriptor in *desc_out. depth counts enclosing arrays.
 */
static int parse_array(struct parser *ps, int depth, size_t *desc_out)
{
	lc_gguf *g = ps->g;
	uint32_t type;
	uint64_t n, i;
	size_t d, elsize, first = 0;
	int rc;

	if ((rc = get_u32(ps, &type, "array type")) < 0 ||
	    (rc = get_u64(ps, &n, "array length")) < 0)
		return rc;
	if (type >= LC_GGUF_TYPE_COUNT)
		return lc_err_set(LC_EPARSE, "gguf: array of %s has unknown element type %" PRIu32,
		                  ps->what, type);
	if (type == LC_GGUF_TYPE_ARRAY && depth + 1 >= GGUF_MAX_NESTING)
		return lc_err_set(LC_EPARSE, "gguf: arrays of %s are nested deeper than %d",
		                  ps->what, GGUF_MAX_NESTING);
	if ((rc = grow((void **)&g->descs, &g->cap_descs, g->n_descs, 1, sizeof(*g->descs))) < 0)
		return rc;
	d = g->n_descs++;
	g->descs[d].type = type;
	g->descs[d].n = n;
	g->descs[d].data = ps->pos;
	g->descs[d].index = 0;

	elsize = type_size(type);
	if (elsize) {
		if (n > left(ps) / elsize)
			return lc_err_set(LC_EPARSE,
			                  "gguf: array of %s (%" PRIu64
			                  " %s elements) runs past end "
			                  "of file (offset %zu)",
			                  ps->what, n, type_name(type), ps->pos);
		if (type == LC_GGUF_TYPE_BOOL)
			for (i = 0; i < n; i++)
				if (g->base[ps->pos + i] > 1)
					return lc_err_set(LC_EPARSE,
					                  "gguf: element %" PRIu64
					                  " of %s is not a "
					                  "bool (%u) (offset %zu)",
					                  i, ps->what, g->base[ps->pos + i],
					                  ps->pos + (size_t)i);
		ps->pos += (size_t)(n * elsize);
		*desc_out = d;
		return 0;
	}

	/* Strings take at least 8 bytes, arrays 12: this bounds n by the bytes left. */
	if (n > left(ps) / (type == LC_GGUF_TYPE_STRING ? 8 : 12))
		return lc_err_set(LC_EPARSE,
		                  "gguf: array of %s (%" PRIu64 " %s elements) runs past end of "
		                  "file (offset %zu)",
		                  ps->what, n, type_name(type), ps->pos);
	if ((rc = grow((void **)&g->index, &g->cap_index, g->n_index, (size_t)n,
	               sizeof(*g->index))) < 0)
		return rc;
	first = g->n_index;
	g->n_index += (size_t)n;
	g->descs[d].index = first;
	for (i = 0; i < n; i++) {
		if (type == LC_GGUF_TYPE_STRING) {
			lc_gguf_str s;
			g->index[first + i] = ps->pos;
			if ((rc = get_str(ps, &s, "string element")) < 0)
				return rc;
		} else {
			size_t child;
			if ((rc = parse_array(ps, depth + 1, &child)) < 0)
				return rc;
			g->index[first + i] = child;
		}
	}
	*desc_out = d;
	return 0;
}

static uint64_t hash(const char *s, uint64_t len)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */
	uint64_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int str_eq(lc_gguf_str a, const char *b, uint64_t blen)
{
	return a.len == blen && memcmp(a.data, b, (size_t)blen) == 0;
}

static int table_new(size_t n, size_t **slots, size_t *mask)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap *= 2;
	*slots = calloc(cap, sizeof(**slots));
	if (!*slots)
		return lc_err_set(LC_ENOMEM, "gguf: out of memory for the name table");
	*mask = cap - 1;
	return 0;
}

/* The kv index of key, or -1. */
static int64_t key_lookup(const lc_gguf *g, const char *key, uint64_t len)
{
	size_t j;

	if (!g->key_slots)
		return -1;
	for (j = (size_t)hash(key, len) & g->key_mask; g->key_slots[j]; j = (j + 1) & g->key_mask)
		if (str_eq(g->kvs[g->key_slots[j] - 1].key, key, len))
			return (int64_t)(g->key_slots[j] - 1);
	return -1;
}

static int64_t tensor_lookup(const lc_gguf *g, const char *name, uint64_t len)
{
	size_t j;

	if (!g->tensor_slots)
		return -1;
	for (j = (size_t)hash(name, len) & g->tensor_mask; g->tensor_slots[j];
	     j = (j + 1) & g->tensor_mask)
		if (str_eq(g->tensors[g->tensor_slots[j] - 1].name, name, len))
			return (int64_t)(g->tensor_slots[j] - 1);
	return -1;
}

static void table_put(size_t *slots, size_t mask, uint64_t h, size_t i)
{
	size_t j;

	for (j = (size_t)h & mask; slots[j]; j = (j + 1) & mask)
		;
	slots[j] = i + 1;
}

static int parse_kv(struct parser *ps, int64_t i)
{
	lc_gguf *g = ps->g;
	struct kv *kv = &g->kvs[i];
	char name[NAME_SHOW_MAX];
	int rc;

	snprintf(ps->what, sizeof(ps->what), "metadata entry %" PRId64, i);
	if ((rc = get_str(ps, &kv->key, "key")) < 0)
		return rc;
	show_name(name, sizeof(name), kv->key.data, kv->key.len);
	snprintf(ps->what, sizeof(ps->what), "key '%s'", name);
	if (kv->key.len > GGUF_MAX_KEY_LEN)
		return lc_err_set(LC_EPARSE, "gguf: %s is longer than %d bytes", ps->what,
		                  GGUF_MAX_KEY_LEN);
	if (key_lookup(g, kv->key.data, kv->key.len) >= 0)
		return lc_err_set(LC_EPARSE, "gguf: duplicate %s", ps->what);
	table_put(g->key_slots, g->key_mask, hash(kv->key.data, kv->key.len), (size_t)i);

	if ((rc = get_u32(ps, &kv->type, "value type")) < 0)
		return rc;
	kv->val = ps->pos;
	kv->arr = 0;
	switch (kv->type) {
	case LC_GGUF_TYPE_STRING: {
		lc_gguf_str s;
		return get_str(ps, &s, "string value");
	}
	case LC_GGUF_TYPE_ARRAY:
		return parse_array(ps, 0, &kv->arr);
	case LC_GGUF_TYPE_BOOL:
		if ((rc = need(ps, 1, "value")) < 0)
			return rc;
		if (g->base[ps->pos] > 1)
			return lc_err_set(LC_EPARSE, "gguf: value of %s is not a bool (%u)",
			                  ps->what, g->base[ps->pos]);
		ps->pos += 1;
		return 0;
	default:
		if (kv->type >= LC_GGUF_TYPE_COUNT)
			return lc_err_set(LC_EPARSE, "gguf: %s has unknown value type %" PRIu32,
			                  ps->what, kv->type);
		if ((rc = need(ps, type_size(kv->type), "value")) < 0)
			return rc;
		ps->pos += type_size(kv->type);
		return 0;
	}
}

static int parse_tensor_info(struct parser *ps, int64_t i)
{
	lc_gguf *g = ps->g;
	lc_gguf_tensor *t = &g->tensors[i];
	char name[NAME_SHOW_MAX];
	uint64_t ne;
	uint32_t d;
	int rc;

	snprintf(ps->what, sizeof(ps->what), "tensor %" PRId64, i);
	if ((rc = get_str(ps, &t->name, "name")) < 0)
		return rc;
	show_name(name, sizeof(name), t->name.data, t->name.len);
	snprintf(ps->what, sizeof(ps->what), "tensor '%s'", name);
	if (t->name.len > GGUF_MAX_NAME_LEN)
		return lc_err_set(LC_EPARSE, "gguf: name of %s is longer than %d bytes", ps->what,
		                  GGUF_MAX_NAME_LEN);
	if (tensor_lookup(g, t->name.data, t->name.len) >= 0)
		return lc_err_set(LC_EPARSE, "gguf: duplicate %s", ps->what);
	table_put(g->tensor_slots, g->tensor_mask, hash(t->name.data, t->name.len), (size_t)i);

	if ((rc = get_u32(ps, &t->n_dims, "dimension count")) < 0)
		return rc;
	if (t->n_dims < 1 || t->n_dims > LC_GGUF_MAX_DIMS)
		return lc_err_set(LC_EPARSE,
		                  "gguf: %s has %" PRIu32 " dimensions (1 to %d allowed)", ps->what,
		                  t->n_dims, LC_GGUF_MAX_DIMS);
	for (d = 0; d < LC_GGUF_MAX_DIMS; d++)
		t->ne[d] = 1;
	for (d = 0; d < t->n_dims; d++) {
		if ((rc = get_u64(ps, &ne, "dimensions")) < 0)
			return rc;
		if (ne == 0 || ne > INT64_MAX)
			return lc_err_set(LC_EPARSE,
			                  "gguf: %s has dimension %" PRIu32 " = %" PRId64, ps->what,
			                  d, (int64_t)ne);
		t->ne[d] = (int64_t)ne;
	}
	if ((rc = get_u32(ps, &t->type, "type")) < 0 ||
	    (rc = get_u64(ps, &t->offset, "offset")) < 0)
		return rc;
	/* A type without a size cannot be bounds-checked: refuse it here. Known types
	 * lcode has no kernels for are read, so that model-info can list them; the
	 * model loader refuses them by name. */
	if (lc_qtype_block_size(t->type) == 0) {
		if (lc_qtype_name(t->type))
			return lc_err_set(LC_EUNSUPPORTED,
			                  "gguf: %s has tensor type %" PRIu32
			                  " (%s), which ggml removed from GGUF files",
			                  ps->what, t->type, lc_qtype_name(t->type));
		return lc_err_set(LC_EUNSUPPORTED,
		                  "gguf: %s has tensor type %" PRIu32
		                  ", unknown to lcode (ggml's types end at %d)",
		                  ps->what, t->type, LC_QTYPE_COUNT - 1);
	}
	return 0;
}

/* Shape, size and place of tensor i, once the data section's start is known. */
static int check_tensor(struct parser *ps, int64_t i)
{
	lc_gguf *g = ps->g;
	lc_gguf_tensor *t = &g->tensors[i];
	char name[NAME_SHOW_MAX];
	size_t bs, row, size, space;
	int64_t nel = t->ne[0];
	uint32_t d;

	show_name(name, sizeof(name), t->name.data, t->name.len);
	for (d = 1; d < LC_GGUF_MAX_DIMS; d++) {
		if (nel > INT64_MAX / t->ne[d])
			return lc_err_set(LC_EPARSE, "gguf: element count of tensor '%s' overflows",
			                  name);
		nel *= t->ne[d];
	}
	bs = lc_qtype_block_size(t->type);
	row = lc_qtype_row_size(t->type, t->ne[0]);
	if (row == 0)
		return lc_err_set(LC_EPARSE,
		                  "gguf: tensor '%s' has rows of %" PRId64
		                  " elements, not a multiple "
		                  "of the %zu-element blocks of %s",
		                  name, t->ne[0], bs, lc_qtype_name(t->type));
	size = row;
	for (d = 1; d < LC_GGUF_MAX_DIMS; d++) {
		if ((uint64_t)t->ne[d] > SIZE_MAX / size)
			return lc_err_set(LC_EPARSE, "gguf: size of tensor '%s' overflows", name);
		size *= (size_t)t->ne[d];
	}
	if (t->offset % g->alignment != 0)
		return lc_err_set(LC_EPARSE,
		                  "gguf: offset %" PRIu64
		                  " of tensor '%s' is not a multiple of the "
		                  "alignment %" PRIu32,
		                  t->offset, name, g->alignment);
	space = g->size - g->data_offset;
	if (t->offset > space || size > space - t->offset)
		return lc_err_set(LC_EPARSE,
		                  "gguf: data of tensor '%s' (%zu bytes at offset %" PRIu64
		                  ") runs past end of file (data section holds %zu bytes)",
		                  name, size, t->offset, space);
	t->size = size;
	t->data = g->base + g->data_offset + t->offset;
	return 0;
}

static int parse(lc_gguf *g)
{
	struct parser ps = {g, 0, "header"};
	uint64_t n_tensors, n_kv;
	int64_t i, ai;
	size_t pad;
	int rc;

	if (g->size < 4 || memcmp(g->base, "GGUF", 4) != 0)
		return lc_err_set(LC_EPARSE, "gguf: not a GGUF file (no 'GGUF' magic)");
	ps.pos = 4;
	if ((rc = get_u32(&ps, &g->version, "version")) < 0)
		return rc;
	if (g->version != 2 && g->version != 3)
		return lc_err_set(LC_EPARSE,
		                  "gguf: version %" PRIu32 " is not supported (2 and 3 are%s)",
		                  g->version, g->version > 0xffff ? "; a big-endian file?" : "");
	if ((rc = get_u64(&ps, &n_tensors, "tensor count")) < 0 ||
	    (rc = get_u64(&ps, &n_kv, "metadata count")) < 0)
		return rc;
	/* A key/value pair takes at least 13 bytes, a tensor info at least 32. */
	if (n_kv > left(&ps) / 13)
		return lc_err_set(LC_EPARSE,
		                  "gguf: header claims %" PRIu64 " metadata entries but only %zu "
		                  "bytes follow",
		                  n_kv, left(&ps));
	if (n_tensors > (left(&ps) - n_kv * 13) / 32)
		return lc_err_set(LC_EPARSE,
		                  "gguf: header claims %" PRIu64
		                  " tensors but only %zu bytes follow",
		                  n_tensors, left(&ps));
	g->n_kv = (int64_t)n_kv;
	g->n_tensors = (int64_t)n_tensors;
	g->kvs = calloc(n_kv ? (size_t)n_kv : 1, sizeof(*g->kvs));
	g->tensors = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof(*g->tensors));
	if (!g->kvs || !g->tensors)
		return lc_err_set(LC_ENOMEM,
		                  "gguf: out of memory for %" PRIu64 " keys and %" PRIu64
		                  " tensors",
		                  n_kv, n_tensors);
	if ((rc = table_new((size_t)n_kv, &g->key_slots, &g->key_mask)) < 0 ||
	    (rc = table_new((size_t)n_tensors, &g->tensor_slots, &g->tensor_mask)) < 0)
		return rc;

	for (i = 0; i < g->n_kv; i++)
		if ((rc = parse_kv(&ps, i)) < 0)
			return rc;

	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	ai = key_lookup(g, "general.alignment", strlen("general.alignment"));
	if (ai >= 0) {
		uint32_t a;
		if (g->kvs[ai].type != LC_GGUF_TYPE_UINT32)
			return lc_err_set(LC_EPARSE,
			                  "gguf: key 'general.alignment' has type %s, "
			                  "expected uint32",
			                  type_name(g->kvs[ai].type));
		a = rd32(g->base + g->kvs[ai].val);
		if (a == 0 || (a & (a - 1)) != 0)
			return lc_err_set(LC_EPARSE,
			                  "gguf: key 'general.alignment' is %" PRIu32
			                  ", not a power of two",
			                  a);
		g->alignment = a;
	}

	for (i = 0; i < g->n_tensors; i++)
		if ((rc = parse_tensor_info(&ps, i)) < 0)
			return rc;

	pad = (g->alignment - ps.pos % g->alignment) % g->alignment;
	g->data_offset = ps.pos + pad;
	if (g->n_tensors > 0 && pad > left(&ps))
		return lc_err_set(LC_EPARSE,
		                  "gguf: padding before the data section runs past end of file "
		                  "(offset %zu)",
		                  ps.pos);
	if (g->data_offset > g->size)
		g->data_offset = g->size; /* no tensors: nothing lives there */
	for (i = 0; i < g->n_tensors; i++)
		if ((rc = check_tensor(&ps, i)) < 0)
			return rc;
	return 0;
}

static int open_common(lc_gguf **out, lc_gguf *g)
{
	int rc = parse(g);

	if (rc < 0) {
		lc_gguf_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

int lc_gguf_open_memory(lc_gguf **out, const void *data, size_t size)
{
	lc_gguf *g = calloc(1, sizeof(*g));

	if (!g)
		return lc_err_set(LC_ENOMEM, "gguf: out of memory");
	g->base = data;
	g->size = size;
	return open_common(out, g);
}

int lc_gguf_open(lc_gguf **out, const char *path)
{
	struct stat st;
	lc_gguf *g = NULL;
	void *map;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lc_err_set_errno(errno == ENOENT ? LC_ENOTFOUND : LC_EIO, errno,
		                        "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "cannot stat '%s'", path);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = lc_err_set(LC_EIO, "'%s' is not a regular file", path);
		goto out_close;
	}
	if (st.st_size == 0) {
		rc = lc_err_set(LC_EPARSE, "gguf: '%s' is empty", path);
		goto out_close;
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		rc = lc_err_set(LC_EIO, "'%s' is too large to map", path);
		goto out_close;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		rc = lc_err_set_errno(LC_EIO, errno, "cannot map '%s'", path);
		goto out_close;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		munmap(map, (size_t)st.st_size);
		rc = lc_err_set(LC_ENOMEM, "gguf: out of memory");
		goto out_close;
	}
	g->map = map;
	g->base = map;
	g->size = (size_t)st.st_size;
	rc = open_common(out, g);
out_close:
	close(fd);
	return rc;
}

void lc_gguf_free(lc_gguf *g)
{
	if (!g)
		return;
	if (g->map)
		munmap(g->map, g->size);
	free(g->kvs);
	free(g->tensors);
	free(g->descs);
	free(g->index);
	free(g->key_slots);
	free(g->tensor_slots);
	free(g);
}

uint32_t lc_gguf_version(const lc_gguf *g)
{
	return g->version;
}

size_t lc_gguf_file_size(const lc_gguf *g)
{
	return g->size;
}

uint32_t lc_gguf_alignment(const lc_gguf *g)
{
	return g->alignment;
}

size_t lc_gguf_data_offset(const lc_gguf *g)
{
	return g->data_offset;
}

int64_t lc_gguf_n_kv(const lc_gguf *g)
{
	return g->n_kv;
}

int64_t lc_gguf_find_key(const lc_gguf *g, const char *key)
{
	return key_lookup(g, key, strlen(key));
}

lc_gguf_str lc_gguf_kv_key(const lc_gguf *g, int64_t i)
{
	assert(i >= 0 && i < g->n_kv);
	return g->kvs[i].key;
}

enum lc_gguf_type lc_gguf_kv_type(const lc_gguf *g, int64_t i)
{
	assert(i >= 0 && i < g->n_kv);
	return (enum lc_gguf_type)g->kvs[i].type;
}

static int lookup(const lc_gguf *g, const char *key, const struct kv **out)
{
	int64_t i = key_lookup(g, key, strlen(key));

	if (i < 0)
		return lc_err_set(LC_ENOTFOUND, "gguf: no key '%s'", key);
	*out = &g->kvs[i];
	return 0;
}

static int wrong_type(const char *key, uint32_t type, const char *want)
{
	return lc_err_set(LC_EPARSE, "gguf: key '%s' has type %s, expected %s", key,
	                  type_name(type), want);
}

/*
 * An integer value: *neg = 1 and *s set for a negative signed value,
 * otherwise *neg = 0 and *u set.
 */
static int get_int(const lc_gguf *g, const char *key, int *neg, int64_t *s, uint64_t *u)
{
	const struct kv *kv = NULL;
	const uint8_t *p;
	int64_t sv;
	int rc;

	if ((rc = lookup(g, key, &kv)) < 0)
		return rc;
	p = g->base + kv->val;
	switch (kv->type) {
	case LC_GGUF_TYPE_UINT8:
		*neg = 0, *u = p[0];
		return 0;
	case LC_GGUF_TYPE_UINT16:
		*neg = 0, *u = rd16(p);
		return 0;
	case LC_GGUF_TYPE_UINT32:
		*neg = 0, *u = rd32(p);
		return 0;
	case LC_GGUF_TYPE_UINT64:
		*neg = 0, *u = rd64(p);
		return 0;
	case LC_GGUF_TYPE_INT8:
		sv = (int8_t)p[0];
		break;
	case LC_GGUF_TYPE_INT16:
		sv = (int16_t)rd16(p);
		break;
	case LC_GGUF_TYPE_INT32:
		sv = (int32_t)rd32(p);
		break;
	case LC_GGUF_TYPE_INT64:
		sv = (int64_t)rd64(p);
		break;
	default:
		return wrong_type(key, kv->type, "an integer");
	}
	*neg = sv < 0;
	*s = sv;
	*u = sv < 0 ? 0 : (uint64_t)sv;
	return 0;
}

static int out_of_range(const char *key, int neg, int64_t s, uint64_t u, const char *want)
{
	if (neg)
		return lc_err_set(LC_EPARSE, "gguf: value %" PRId64 " of key '%s' does not fit %s",
		                  s, key, want);
	return lc_err_set(LC_EPARSE, "gguf: value %" PRIu64 " of key '%s' does not fit %s", u, key,
	                  want);
}

int lc_gguf_get_u32(const lc_gguf *g, const char *key, uint32_t *out)
{
	int64_t s = 0;
	uint64_t u = 0;
	int neg, rc;

	if ((rc = get_int(g, key, &neg, &s, &u)) < 0)
		return rc;
	if (neg || u > UINT32_MAX)
		return out_of_range(key, neg, s, u, "uint32");
	*out = (uint32_t)u;
	return 0;
}

int lc_gguf_get_i64(const lc_gguf *g, const char *key, int64_t *out)
{
	int64_t s = 0;
	uint64_t u = 0;
	int neg, rc;

	if ((rc = get_int(g, key, &neg, &s, &u)) < 0)
		return rc;
	if (neg) {
		*out = s;
		return 0;
	}
	if (u > INT64_MAX)
		return out_of_range(key, neg, s, u, "int64");
	*out = (int64_t)u;
	return 0;
}

int lc_gguf_get_u64(const lc_gguf *g, const char *key, uint64_t *out)
{
	int64_t s = 0;
	uint64_t u = 0;
	int neg, rc;

	if ((rc = get_int(g, key, &neg, &s, &u)) < 0)
		return rc;
	if (neg)
		return out_of_range(key, neg, s, u, "uint64");
	*out = u;
	return 0;
}

int lc_gguf_get_f32(const lc_gguf *g, const char *key, float *out)
{
	const struct kv *kv = NULL;
	uint32_t bits;
	uint64_t bits64;
	double d;
	float f;
	int rc;

	if ((rc = lookup(g, key, &kv)) < 0)
		return rc;
	if (kv->type == LC_GGUF_TYPE_FLOAT32) {
		bits = rd32(g->base + kv->val);
		memcpy(&f, &bits, sizeof(f));
		*out = f;
		return 0;
	}
	if (kv->type != LC_GGUF_TYPE_FLOAT64)
		return wrong_type(key, kv->type, "float32 or float64");
	bits64 = rd64(g->base + kv->val);
	memcpy(&d, &bits64, sizeof(d));
	if (isfinite(d) && fabs(d) > FLT_MAX)
		return lc_err_set(LC_EPARSE, "gguf: value %g of key '%s' does not fit float32", d,
		                  key);
	*out = (float)d;
	return 0;
}

int lc_gguf_get_bool(const lc_gguf *g, const char *key, int *out)
{
	const struct kv *kv = NULL;
	int rc;

	if ((rc = lookup(g, key, &kv)) < 0)
		return rc;
	if (kv->type != LC_GGUF_TYPE_BOOL)
		return wrong_type(key, kv->type, "bool");
	*out = g->base[kv->val] != 0;
	return 0;
}

int lc_gguf_get_str(const lc_gguf *g, const char *key, lc_gguf_str *out)
{
	const struct kv *kv = NULL;
	int rc;

	if ((rc = lookup(g, key, &kv)) < 0)
		return rc;
	if (kv->type != LC_GGUF_TYPE_STRING)
		return wrong_type(key, kv->type, "string");
	out->len = rd64(g->base + kv->val);
	out->data = (const char *)g->base + kv->val + 8;
	return 0;
}

static lc_gguf_arr make_arr(const lc_gguf *g, int64_t kv, size_t d)
{
	lc_gguf_arr a;

	a.type = (enum lc_gguf_type)g->descs[d].type;
	a.n = g->descs[d].n;
	a.data = g->base + g->descs[d].data;
	a.kv = kv;
	a.nested = d;
	return a;
}

int lc_gguf_get_arr(const lc_gguf *g, const char *key, lc_gguf_arr *out)
{
	const struct kv *kv = NULL;
	int rc;

	if ((rc = lookup(g, key, &kv)) < 0)
		return rc;
	if (kv->type != LC_GGUF_TYPE_ARRAY)
		return wrong_type(key, kv->type, "array");
	*out = make_arr(g, kv - g->kvs, kv->arr);
	return 0;
}

int lc_gguf_kv_arr(const lc_gguf *g, int64_t i, lc_gguf_arr *out)
{
	assert(i >= 0 && i < g->n_kv);
	if (g->kvs[i].type != LC_GGUF_TYPE_ARRAY)
		return lc_err_set(LC_EPARSE, "gguf: metadata entry %" PRId64 " is not an array", i);
	*out = make_arr(g, i, g->kvs[i].arr);
	return 0;
}

lc_gguf_str lc_gguf_arr_str(const lc_gguf *g, const lc_gguf_arr *arr, uint64_t i)
{
	const struct arrdesc *d;
	lc_gguf_str s;
	size_t off;

	assert(arr->type == LC_GGUF_TYPE_STRING && i < arr->n);
	assert(arr->nested < g->n_descs);
	d = &g->descs[arr->nested];
	off = (size_t)g->index[d->index + i];
	s.len = rd64(g->base + off);
	s.data = (const char *)g->base + off + 8;
	return s;
}

lc_gguf_arr lc_gguf_arr_arr(const lc_gguf *g, const lc_gguf_arr *arr, uint64_t i)
{
	const struct arrdesc *d;

	assert(arr->type == LC_GGUF_TYPE_ARRAY && i < arr->n);
	assert(arr->nested < g->n_descs);
	d = &g->descs[arr->nested];
	return make_arr(g, arr->kv, (size_t)g->index[d->index + i]);
}

int64_t lc_gguf_n_tensors(const lc_gguf *g)
{
	return g->n_tensors;
}

const lc_gguf_tensor *lc_gguf_tensor_at(const lc_gguf *g, int64_t i)
{
	assert(i >= 0 && i < g->n_tensors);
	return &g->tensors[i];
}

const lc_gguf_tensor *lc_gguf_find_tensor(const lc_gguf *g, const char *name)
{
	int64_t i = tensor_lookup(g, name, strlen(name));

	return i < 0 ? NULL : &g->tensors[i];
}

int lc_gguf_str_eq(lc_gguf_str s, const char *cstr)
{
	return str_eq(s, cstr, strlen(cstr));
}

const char *lc_gguf_type_name(enum lc_gguf_type type)
{
	return type_name((uint32_t)type);
}
