/*
 * gguf.h - read GGUF files (versions 2 and 3) over mmap.
 *
 * Source: ggml's docs/gguf.md. A file is a header (magic "GGUF", version,
 * tensor count, metadata count), the metadata key/value pairs, the tensor
 * infos (name, dimensions, type, offset), padding to general.alignment
 * (default 32), and the data section. All integers are little-endian.
 *
 * lc_gguf_open() checks every count, length, offset and size against the
 * file before anything is used, so a truncated, malformed or hostile file is
 * refused with LC_EPARSE and a message naming the key or tensor, never read
 * out of bounds. Also refused (LC_EPARSE): duplicate keys or tensor names, a
 * key over 65535 bytes, a tensor name over 64 bytes, a bool other than 0/1,
 * arrays nested more than 16 deep, general.alignment not a uint32 power of
 * two, n_dims outside 1..4, a dimension of 0 or above INT64_MAX, an element
 * count or byte size that overflows, a row that is not whole blocks of its
 * type, an offset that is not a multiple of the alignment, data past the end
 * of the file. A tensor type lcode does not know is LC_EUNSUPPORTED. Tensors
 * may overlap (not checked). Weights stay in the mapping: tensor data
 * pointers point into it and nothing is copied.
 *
 * Borrowed pointers returned here (keys, strings, tensor names, data) are
 * valid until lc_gguf_free(). Strings in GGUF are not NUL-terminated; every
 * string comes with its length.
 */
#ifndef LC_GGUF_H
#define LC_GGUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct lc_gguf lc_gguf;

/* Metadata value types, as the spec numbers them. */
enum lc_gguf_type {
	LC_GGUF_TYPE_UINT8 = 0,
	LC_GGUF_TYPE_INT8 = 1,
	LC_GGUF_TYPE_UINT16 = 2,
	LC_GGUF_TYPE_INT16 = 3,
	LC_GGUF_TYPE_UINT32 = 4,
	LC_GGUF_TYPE_INT32 = 5,
	LC_GGUF_TYPE_FLOAT32 = 6,
	LC_GGUF_TYPE_BOOL = 7,
	LC_GGUF_TYPE_STRING = 8,
	LC_GGUF_TYPE_ARRAY = 9,
	LC_GGUF_TYPE_UINT64 = 10,
	LC_GGUF_TYPE_INT64 = 11,
	LC_GGUF_TYPE_FLOAT64 = 12,
	LC_GGUF_TYPE_COUNT
};

/* A string inside the file: not NUL-terminated. */
typedef struct lc_gguf_str {
	const char *data;
	uint64_t len;
} lc_gguf_str;

/* The largest number of dimensions a tensor may have (GGML_MAX_DIMS). */
#define LC_GGUF_MAX_DIMS 4

typedef struct lc_gguf_tensor {
	lc_gguf_str name;
	uint32_t n_dims;
	int64_t ne[LC_GGUF_MAX_DIMS]; /* elements per dimension, ne[0] innermost
	                                 (a row); unused dimensions are 1 */
	uint32_t type;                /* enum lc_qtype */
	uint64_t offset;              /* bytes from the start of the data section */
	size_t size;                  /* bytes of data */
	const void *data;             /* into the mapping */
} lc_gguf_tensor;

/*
 * Map and parse the file at path. On success *out is an owned handle (free
 * with lc_gguf_free). Errors: LC_ENOTFOUND, LC_EIO (cannot open or map),
 * LC_EPARSE (not GGUF, unsupported version, or malformed: the message names
 * the key or tensor), LC_EUNSUPPORTED (a tensor type lcode does not know),
 * LC_ENOMEM.
 */
int lc_gguf_open(lc_gguf **out, const char *path);

/*
 * Parse size bytes at data, which the caller keeps alive and unchanged until
 * lc_gguf_free (used by the fuzz target and tests). Errors as lc_gguf_open.
 */
int lc_gguf_open_memory(lc_gguf **out, const void *data, size_t size);

/* Unmap and free. NULL is fine. */
void lc_gguf_free(lc_gguf *g);

uint32_t lc_gguf_version(const lc_gguf *g);
size_t lc_gguf_file_size(const lc_gguf *g);   /* bytes */
uint32_t lc_gguf_alignment(const lc_gguf *g); /* general.alignment, or 32 */
size_t lc_gguf_data_offset(const lc_gguf *g); /* start of the data section in the file */

/* --- metadata ---------------------------------------------------------- */

int64_t lc_gguf_n_kv(const lc_gguf *g);

/* Index of key, or -1 when absent. */
int64_t lc_gguf_find_key(const lc_gguf *g, const char *key);

/* Key and type of entry i (0 <= i < n_kv, asserted). */
lc_gguf_str lc_gguf_kv_key(const lc_gguf *g, int64_t i);
enum lc_gguf_type lc_gguf_kv_type(const lc_gguf *g, int64_t i);

/* The spec's name of a value type ("uint32", "string"), "unknown" when out of range. */
const char *lc_gguf_type_name(enum lc_gguf_type type);

/*
 * Typed getters by key. Integers convert between widths and signedness when
 * the value fits the requested type; anything else fails. Errors:
 * LC_ENOTFOUND (no such key), LC_EPARSE (wrong type or out of range; the
 * message names the key). *out is written only on success.
 *
 * LC_ENOTFOUND also leaves a message in the error slot: for an optional key,
 * test with lc_gguf_find_key() first (or lc_err_clear() after the miss).
 */
int lc_gguf_get_u32(const lc_gguf *g, const char *key, uint32_t *out);
int lc_gguf_get_i64(const lc_gguf *g, const char *key, int64_t *out);
int lc_gguf_get_u64(const lc_gguf *g, const char *key, uint64_t *out);
int lc_gguf_get_f32(const lc_gguf *g, const char *key, float *out); /* FLOAT32 or FLOAT64 */
int lc_gguf_get_bool(const lc_gguf *g, const char *key, int *out);
int lc_gguf_get_str(const lc_gguf *g, const char *key, lc_gguf_str *out);

/*
 * An array value. For arrays of fixed-size elements, data points at n
 * packed little-endian elements in the mapping (not necessarily aligned for
 * the element type: copy with memcpy). For arrays of strings or of arrays,
 * use lc_gguf_arr_str / lc_gguf_arr_arr.
 */
typedef struct lc_gguf_arr {
	enum lc_gguf_type type; /* element type */
	uint64_t n;             /* element count */
	const void *data;       /* first element */
	int64_t kv;             /* metadata index the array belongs to */
	uint64_t nested;        /* internal: the reader's descriptor of this array */
} lc_gguf_arr;

/* Errors: LC_ENOTFOUND, LC_EPARSE (not an array). */
int lc_gguf_get_arr(const lc_gguf *g, const char *key, lc_gguf_arr *out);

/* The array value of entry i (0 <= i < n_kv, asserted). Errors: LC_EPARSE (not an array). */
int lc_gguf_kv_arr(const lc_gguf *g, int64_t i, lc_gguf_arr *out);

/*
 * Element i of an array of strings; i < arr->n and arr->type == STRING
 * (asserted). O(1): the reader indexes string arrays at open time.
 */
lc_gguf_str lc_gguf_arr_str(const lc_gguf *g, const lc_gguf_arr *arr, uint64_t i);

/* Element i of an array of arrays, as an array; asserted as above. */
lc_gguf_arr lc_gguf_arr_arr(const lc_gguf *g, const lc_gguf_arr *arr, uint64_t i);

/* --- tensors ----------------------------------------------------------- */

int64_t lc_gguf_n_tensors(const lc_gguf *g);

/* Tensor i (0 <= i < n_tensors). Borrowed. */
const lc_gguf_tensor *lc_gguf_tensor_at(const lc_gguf *g, int64_t i);

/* Tensor by name, or NULL when absent. Borrowed. */
const lc_gguf_tensor *lc_gguf_find_tensor(const lc_gguf *g, const char *name);

/* 1 when s equals the NUL-terminated string cstr. */
int lc_gguf_str_eq(lc_gguf_str s, const char *cstr);

#endif
