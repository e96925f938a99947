#!/usr/bin/env python3
"""NumPy reference for ggml's tensor types: dequantize, quantize, random blocks.

Written from the block layouts of ggml's src/ggml-common.h and the arithmetic of
ggml's dequantize_row_* / quantize_row_q8_*_ref (src/ggml-quants.c), independently of
lcode's runtime/quant.c. Standard library + NumPy only. All data little-endian.

Types are named by ggml's name ("Q4_K") or given by their GGUF type id (12):

    F32 0   F16 1   Q4_0 2   Q4_1 3   Q5_0 6   Q5_1 7   Q8_0 8   Q8_1 9
    Q2_K 10 Q3_K 11 Q4_K 12  Q5_K 13  Q6_K 14  Q8_K 15  BF16 30

API
---
    import quants as q

    q.type_id("Q4_K") -> 12          q.type_name(12) -> "Q4_K"
    q.block_size(t), q.type_size(t)  elements and bytes per block
    q.row_size(t, n)                 bytes for n elements (n a multiple of block_size)

    q.dequantize(t, data, n) -> np.float32 array (n,)
        data: bytes / bytearray / uint8 array holding row_size(t, n) bytes. The float32
        operations are done in ggml's order, so results are bit-identical to ggml's.
    q.quantize(t, x) -> bytes
        x: float array with size a multiple of block_size(t). Every type above. F16, BF16
        round to nearest even; Q8_0, Q8_1, Q8_K follow ggml's reference quantizers
        exactly (the activation side of dot products); Q4_0..Q5_1 follow ggml's
        reference rules; Q2_K..Q6_K are simple valid encodings (min/max per sub-block,
        6/4/8-bit scales), not ggml's error-minimising search.
    q.random_blocks(t, n_blocks, rng) -> bytes
        random bytes for the quants, with every scale field set to a sane finite value
        (f16/f32 d in [1e-3, 1e-2]; Q4_1/Q5_1 min m in +-[1e-3, 1e-2]; dmin in
        [1e-3, 1e-2]); F32/F16/BF16 get standard-normal values.
    q.vec_dot_type(t) -> name        type the activation row takes for a dot product
                                     with a weight row of type t (ggml-cpu's table)
    q.quantize_for_dot(t, x) -> bytes  quantize(vec_dot_type(t), x)

    q.fp32_to_fp16_bits(x), q.fp16_bits_to_fp32(h)   uint16 <-> float32 (NumPy float16)
    q.fp32_to_bf16_bits(x), q.bf16_bits_to_fp32(h)   round to nearest even, quiet NaN

Command line
------------
    quants.py selftest            TAP self-test of this module (hand-made blocks, round trips)
    quants.py fixture OUT [SEED]  write the fixture file tests/test_quant.c reads

Fixture file: b"LCQF", u32 record count, then per record: u16 name length, name (ASCII),
u64 byte count, bytes. Names and contents are listed in write_fixture().
"""

import struct
import sys

import numpy as np

QK = 32
QK_K = 256

# name: (GGUF type id, elements per block, bytes per block) - ggml-common.h
TYPES = {
    "F32": (0, 1, 4),
    "F16": (1, 1, 2),
    "Q4_0": (2, 32, 18),
    "Q4_1": (3, 32, 20),
    "Q5_0": (6, 32, 22),
    "Q5_1": (7, 32, 24),
    "Q8_0": (8, 32, 34),
    "Q8_1": (9, 32, 36),
    "Q2_K": (10, 256, 84),
    "Q3_K": (11, 256, 110),
    "Q4_K": (12, 256, 144),
    "Q5_K": (13, 256, 176),
    "Q6_K": (14, 256, 210),
    "Q8_K": (15, 256, 292),
    "BF16": (30, 1, 2),
}
_BY_ID = {v[0]: k for k, v in TYPES.items()}

# ggml-cpu's type_traits_cpu[].vec_dot_type
_VEC_DOT_TYPE = {
    "F32": "F32", "F16": "F16", "BF16": "BF16",
    "Q4_0": "Q8_0", "Q5_0": "Q8_0", "Q8_0": "Q8_0",
    "Q4_1": "Q8_1", "Q5_1": "Q8_1",
    "Q2_K": "Q8_K", "Q3_K": "Q8_K", "Q4_K": "Q8_K", "Q5_K": "Q8_K", "Q6_K": "Q8_K",
}

F32 = np.float32


def type_name(t):
    if isinstance(t, str):
        if t not in TYPES:
            raise ValueError("unknown type %r" % t)
        return t
    return _BY_ID[int(t)]


def type_id(t):
    return TYPES[type_name(t)][0]


def block_size(t):
    return TYPES[type_name(t)][1]


def type_size(t):
    return TYPES[type_name(t)][2]


def row_size(t, n):
    bs = block_size(t)
    if n % bs:
        raise ValueError("%d elements of %s: not a multiple of %d" % (n, type_name(t), bs))
    return n // bs * type_size(t)


def vec_dot_type(t):
    return _VEC_DOT_TYPE[type_name(t)]


# ---- scalars ----

def fp16_bits_to_fp32(h):
    return np.asarray(h, dtype=np.uint16).view(np.float16).astype(F32)


def fp32_to_fp16_bits(x):
    return np.asarray(x, dtype=F32).astype(np.float16).view(np.uint16)


def bf16_bits_to_fp32(h):
    return (np.asarray(h, dtype=np.uint16).astype(np.uint32) << 16).view(F32)


def fp32_to_bf16_bits(x):
    u = np.asarray(x, dtype=F32).view(np.uint32).astype(np.uint64)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    lsb = (u >> 16) & 1
    r = ((u + 0x7FFF + lsb) >> 16) & 0xFFFF
    r = np.where(nan, ((u >> 16) | 0x40) & 0xFFFF, r)
    return r.astype(np.uint16)


# ---- block field access ----

def _blocks(t, data, n):
    raw = np.frombuffer(bytes(data), dtype=np.uint8) if not isinstance(data, np.ndarray) \
        else data.view(np.uint8).reshape(-1)
    size = row_size(t, n)
    if raw.size != size:
        raise ValueError("%s: %d bytes for %d elements, need %d" % (type_name(t), raw.size, n, size))
    return raw.reshape(-1, type_size(t))


def _half(b, off):
    """The f16 at byte offset off of every block, as a (nb, 1) float32 column."""
    return b[:, off:off + 2].copy().view("<f2").astype(F32).reshape(-1, 1)


def _nibbles(qs):
    """(nb, 16) bytes -> (nb, 32): low nibbles are elements 0..15, high ones 16..31."""
    return np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.int32)


def _bits32(b, off):
    """The u32 at byte offset off, expanded to its 32 bits: (nb, 32), bit j at column j."""
    word = b[:, off:off + 4].copy().view("<u4").astype(np.uint64)
    return ((word >> np.arange(32, dtype=np.uint64)) & 1).astype(np.int32)


def _crumbs(qs):
    """Q2_K/Q3_K low bits: (nb, 64) -> (nb, 256); element 128h + 32j + l is bits 2j..2j+1
    of qs[32h + l]."""
    q = qs.reshape(-1, 2, 1, 32) >> (2 * np.arange(4, dtype=np.uint8)).reshape(1, 1, 4, 1)
    return (q & 3).reshape(-1, QK_K).astype(np.int32)


def _highbits(mask):
    """(nb, 32) bytes -> (nb, 256): element e is bit e // 32 of mask[e % 32]."""
    q = mask.reshape(-1, 1, 32) >> np.arange(8, dtype=np.uint8).reshape(1, 8, 1)
    return (q & 1).reshape(-1, QK_K).astype(np.int32)


def _scales_k4(s):
    """Q4_K/Q5_K: 12 bytes -> 8 six-bit scales and 8 six-bit mins, each (nb, 8)."""
    s = s.astype(np.int32)
    sc = np.empty((s.shape[0], 8), np.int32)
    mn = np.empty((s.shape[0], 8), np.int32)
    sc[:, :4] = s[:, 0:4] & 63
    mn[:, :4] = s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 0xF) | ((s[:, 0:4] >> 6) << 4)
    mn[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, mn


def _scales_q3(s):
    """Q3_K: 12 bytes -> 16 signed scales (value - 32), (nb, 16)."""
    s = s.astype(np.int32)
    low = np.concatenate([s[:, 0:8] & 0xF, s[:, 0:8] >> 4], axis=1)
    k = np.arange(16)
    high = (s[:, 8 + k % 4] >> (2 * (k // 4))) & 3
    return (low | (high << 4)) - 32


def _per(v, width):
    """Repeat per-sub-block values so each element has its own: (nb, m) -> (nb, m*width)."""
    return np.repeat(v, width, axis=1)


# ---- dequantization ----

def dequantize(t, data, n):
    t = type_name(t)
    if t == "F32":
        return np.frombuffer(bytes(data), dtype="<f4").astype(F32).copy()
    if t == "F16":
        return np.frombuffer(bytes(data), dtype="<f2").astype(F32)
    if t == "BF16":
        return bf16_bits_to_fp32(np.frombuffer(bytes(data), dtype="<u2"))
    b = _blocks(t, data, n)
    if t == "Q4_0":
        y = (_nibbles(b[:, 2:18]) - 8).astype(F32) * _half(b, 0)
    elif t == "Q4_1":
        y = _nibbles(b[:, 4:20]).astype(F32) * _half(b, 0) + _half(b, 2)
    elif t == "Q5_0":
        q = _nibbles(b[:, 6:22]) | (_bits32(b, 2) << 4)
        y = (q - 16).astype(F32) * _half(b, 0)
    elif t == "Q5_1":
        q = _nibbles(b[:, 8:24]) | (_bits32(b, 4) << 4)
        y = q.astype(F32) * _half(b, 0) + _half(b, 2)
    elif t == "Q8_0":
        y = b[:, 2:34].view(np.int8).astype(F32) * _half(b, 0)
    elif t == "Q8_1":
        y = b[:, 4:36].view(np.int8).astype(F32) * _half(b, 0)
    elif t == "Q2_K":
        sc = b[:, 0:16].astype(np.int32)
        dl = _half(b, 80) * (sc & 0xF).astype(F32)
        ml = _half(b, 82) * (sc >> 4).astype(F32)
        y = _per(dl, 16) * _crumbs(b[:, 16:80]).astype(F32) - _per(ml, 16)
    elif t == "Q3_K":
        q = _crumbs(b[:, 32:96]) - 4 * (1 - _highbits(b[:, 0:32]))
        dl = _half(b, 108) * _scales_q3(b[:, 96:108]).astype(F32)
        y = _per(dl, 16) * q.astype(F32)
    elif t in ("Q4_K", "Q5_K"):
        sc, mn = _scales_k4(b[:, 4:16])
        if t == "Q4_K":
            qs = b[:, 16:144]
            high = 0
        else:
            qs = b[:, 48:176]
            high = 16 * _highbits(b[:, 16:48])
        # element 64c + 32h + l is nibble h of qs[32c + l]
        q = np.stack([qs.reshape(-1, 4, 32) & 0xF, qs.reshape(-1, 4, 32) >> 4], axis=2)
        q = q.reshape(-1, QK_K).astype(np.int32) + high
        d1 = _half(b, 0) * sc.astype(F32)
        m1 = _half(b, 2) * mn.astype(F32)
        y = _per(d1, 32) * q.astype(F32) - _per(m1, 32)
    elif t == "Q6_K":
        ql = b[:, 0:128].reshape(-1, 2, 1, 2, 32)            # [half, -, k & 1, l]
        lo = np.concatenate([ql & 0xF, ql >> 4], axis=2)     # [half, k >= 2, k & 1, l]
        lo = lo.reshape(-1, 2, 4, 32).astype(np.int32)
        qh = b[:, 128:192].reshape(-1, 2, 1, 32) >> (2 * np.arange(4, dtype=np.uint8)).reshape(1, 1, 4, 1)
        q = (lo | ((qh & 3).astype(np.int32) << 4)).reshape(-1, QK_K) - 32
        dl = _half(b, 208) * b[:, 192:208].view(np.int8).astype(F32)
        y = _per(dl, 16) * q.astype(F32)
    elif t == "Q8_K":
        d = b[:, 0:4].copy().view("<f4").astype(F32)
        y = d * b[:, 4:260].view(np.int8).astype(F32)
    else:
        raise ValueError("dequantize: type %s" % t)
    return y.astype(F32).reshape(-1)


# ---- quantization ----

def _f16(v):
    """float32 array -> its f16 bytes, and the float32 values they hold."""
    h = np.asarray(v, F32).astype(np.float16)
    return h, h.astype(F32)


def _round_away(v):
    """C roundf: halves away from zero. v is float32; the rounding is done in float64,
    where |v| + 0.5 is exact."""
    v = v.astype(np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _signed_absmax(x):
    """Per row, the value of largest magnitude (first one on ties), with its sign."""
    idx = np.argmax(np.abs(x), axis=1)
    return x[np.arange(x.shape[0]), idx].reshape(-1, 1)


def _safe_inv(d):
    d = np.asarray(d, F32)
    with np.errstate(divide="ignore"):
        return np.where(d != 0, F32(1) / np.where(d != 0, d, F32(1)), F32(0)).astype(F32)


def _pack_nibbles(q):
    """(nb, 32) ints 0..15 -> (nb, 16) bytes, elements j and j+16 in byte j."""
    q = q.astype(np.uint8)
    return (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)


def _pack_bits32(bits):
    """(nb, 32) of 0/1 -> (nb, 4) bytes of the little-endian word with bit j = bits[:, j]."""
    word = (bits.astype(np.uint64) << np.arange(32, dtype=np.uint64)).sum(axis=1)
    return word.astype("<u4").view(np.uint8).reshape(-1, 4)


def _pack_crumbs(q):
    """Inverse of _crumbs: (nb, 256) ints 0..3 -> (nb, 64)."""
    q = q.astype(np.uint8).reshape(-1, 2, 4, 32)
    out = np.zeros((q.shape[0], 2, 32), np.uint8)
    for j in range(4):
        out |= q[:, :, j, :] << (2 * j)
    return out.reshape(-1, 64)


def _pack_highbits(bits):
    """Inverse of _highbits: (nb, 256) of 0/1 -> (nb, 32)."""
    bits = bits.astype(np.uint8).reshape(-1, 8, 32)
    out = np.zeros((bits.shape[0], 32), np.uint8)
    for k in range(8):
        out |= bits[:, k, :] << k
    return out


def _pack_scales_k4(sc, mn):
    """Inverse of _scales_k4: 8 scales and 8 mins (0..63) -> 12 bytes."""
    sc = sc.astype(np.uint8)
    mn = mn.astype(np.uint8)
    s = np.zeros((sc.shape[0], 12), np.uint8)
    s[:, 0:4] = sc[:, 0:4] | ((sc[:, 4:8] >> 4) << 6)
    s[:, 4:8] = mn[:, 0:4] | ((mn[:, 4:8] >> 4) << 6)
    s[:, 8:12] = (sc[:, 4:8] & 0xF) | ((mn[:, 4:8] & 0xF) << 4)
    return s


def _pack_scales_q3(sc):
    """Inverse of _scales_q3: 16 signed scales (-32..31) -> 12 bytes."""
    u = (sc + 32).astype(np.uint8)
    s = np.zeros((u.shape[0], 12), np.uint8)
    s[:, 0:8] = (u[:, 0:8] & 0xF) | ((u[:, 8:16] & 0xF) << 4)
    for k in range(16):
        s[:, 8 + k % 4] |= ((u[:, k] >> 4) & 3) << (2 * (k // 4))
    return s


def _as_bytes(*cols):
    return np.concatenate([np.ascontiguousarray(c).view(np.uint8).reshape(c.shape[0], -1)
                           for c in cols], axis=1).tobytes()


def _q8(x, with_sum):
    """ggml's quantize_row_q8_0_ref / q8_1_ref."""
    amax = np.max(np.abs(x), axis=1, keepdims=True)
    d = (amax / F32(127)).astype(F32)
    q = _round_away(x * _safe_inv(d)).astype(np.int8)
    dh, _ = _f16(d)
    if not with_sum:
        return _as_bytes(dh, q)
    s = q.astype(np.int32).sum(axis=1, keepdims=True).astype(F32) * d
    sh, _ = _f16(s)
    return _as_bytes(dh, sh, q)


def _q8_K(x):
    """ggml's quantize_row_q8_K_ref."""
    mx = _signed_absmax(x)
    zero = mx == 0
    iscale = (F32(-127) / np.where(zero, F32(1), mx)).astype(F32)
    v = np.rint((iscale * x).astype(F32)).astype(np.int64)  # rint: halves to even
    q = np.where(zero, 0, np.minimum(127, v)).astype(np.int8)
    d = np.where(zero, F32(0), F32(1) / iscale).astype("<f4")
    bsums = q.astype(np.int32).reshape(-1, 16, 16).sum(axis=2).astype("<i2")
    return _as_bytes(d, q, bsums)


def _sub_scale(v, nmax):
    """Quantize non-negative per-sub-block values v (nb, m) to integers 0..nmax with one
    f16 super-block scale: returns (f16 scale, its float32 value, integers)."""
    dh, d = _f16(np.max(v, axis=1, keepdims=True) / F32(nmax))
    s = np.clip(_round_away(v * _safe_inv(d)), 0, nmax).astype(np.int32)
    return dh, d, s


def quantize(t, x):
    t = type_name(t)
    x = np.asarray(x, dtype=F32).reshape(-1)
    bs = block_size(t)
    if x.size % bs:
        raise ValueError("quantize %s: %d values, not a multiple of %d" % (t, x.size, bs))
    if t == "F32":
        return x.astype("<f4").tobytes()
    if t == "F16":
        return x.astype("<f2").tobytes()
    if t == "BF16":
        return fp32_to_bf16_bits(x).astype("<u2").tobytes()
    xb = x.reshape(-1, bs)
    if t == "Q8_0":
        return _q8(xb, False)
    if t == "Q8_1":
        return _q8(xb, True)
    if t == "Q8_K":
        return _q8_K(xb)
    if t in ("Q4_0", "Q5_0"):
        nq = 16 if t == "Q4_0" else 32
        # ggml's rule: the largest-magnitude value maps to -nq/2 ... the scale is signed
        dh, d = _f16(_signed_absmax(xb) / F32(-nq // 2))
        q = np.clip(np.floor(xb * _safe_inv(d) + F32(nq // 2) + F32(0.5)), 0, nq - 1)
        q = q.astype(np.int32)
        if t == "Q4_0":
            return _as_bytes(dh, _pack_nibbles(q))
        return _as_bytes(dh, _pack_bits32(q >> 4), _pack_nibbles(q & 0xF))
    if t in ("Q4_1", "Q5_1"):
        nq = 16 if t == "Q4_1" else 32
        lo = np.min(xb, axis=1, keepdims=True)
        hi = np.max(xb, axis=1, keepdims=True)
        dh, d = _f16((hi - lo) / F32(nq - 1))
        mh, m = _f16(lo)
        q = np.clip(_round_away((xb - m) * _safe_inv(d)), 0, nq - 1).astype(np.int32)
        if t == "Q4_1":
            return _as_bytes(dh, mh, _pack_nibbles(q))
        return _as_bytes(dh, mh, _pack_bits32(q >> 4), _pack_nibbles(q & 0xF))
    if t in ("Q2_K", "Q4_K", "Q5_K"):
        sub, nq, nsc = {"Q2_K": (16, 3, 15), "Q4_K": (32, 15, 63), "Q5_K": (32, 31, 63)}[t]
        xs = xb.reshape(xb.shape[0], -1, sub)
        lo = np.minimum(np.min(xs, axis=2), 0)              # x = d*sc*q - dmin*m, m >= 0
        hi = np.max(xs, axis=2)
        dh, d, sc = _sub_scale((hi - lo) / F32(nq), nsc)
        mh, dmin, mn = _sub_scale(-lo, nsc)
        step = _per(d * sc.astype(F32), sub)
        off = _per(dmin * mn.astype(F32), sub)
        q = np.clip(_round_away((xb + off) * _safe_inv(step)), 0, nq).astype(np.int32)
        if t == "Q2_K":
            return _as_bytes((sc | (mn << 4)).astype(np.uint8), _pack_crumbs(q), dh, mh)
        scales = _pack_scales_k4(sc, mn)
        qs = np.concatenate([(q[:, 64 * c:64 * c + 32] & 0xF) | ((q[:, 64 * c + 32:64 * c + 64] & 0xF) << 4)
                             for c in range(4)], axis=1).astype(np.uint8)
        if t == "Q4_K":
            return _as_bytes(dh, mh, scales, qs)
        return _as_bytes(dh, mh, scales, _pack_highbits(q >> 4), qs)
    if t in ("Q3_K", "Q6_K"):
        nlo, nhi, smax = (4, 3, 31) if t == "Q3_K" else (32, 31, 127)
        xs = xb.reshape(xb.shape[0], 16, 16)
        sub = _signed_absmax(xs.reshape(-1, 16)).reshape(-1, 16) / F32(-nlo)  # signed
        amax = np.max(np.abs(sub), axis=1, keepdims=True)
        dh, d = _f16(amax / F32(smax))
        sc = np.clip(_round_away(sub * _safe_inv(d)), -smax - 1, smax).astype(np.int32)
        step = _per(d * sc.astype(F32), 16)
        q = np.clip(_round_away(xb * _safe_inv(step)), -nlo, nhi).astype(np.int32)
        if t == "Q3_K":
            u = q + 4
            return _as_bytes(_pack_highbits(u >> 2), _pack_crumbs(u & 3), _pack_scales_q3(sc), dh)
        u = (q + 32).reshape(-1, 2, 4, 32)                   # [half, k, l]
        ql = np.concatenate([(u[:, :, 0] & 0xF) | ((u[:, :, 2] & 0xF) << 4),
                             (u[:, :, 1] & 0xF) | ((u[:, :, 3] & 0xF) << 4)], axis=2)
        qh = np.zeros((u.shape[0], 2, 32), np.int32)
        for k in range(4):
            qh |= (u[:, :, k] >> 4) << (2 * k)
        return _as_bytes(ql.reshape(-1, 128).astype(np.uint8), qh.reshape(-1, 64).astype(np.uint8),
                         sc.astype(np.int8), dh)
    raise ValueError("quantize: type %s" % t)


def quantize_for_dot(t, x):
    return quantize(vec_dot_type(t), x)


# ---- random blocks ----

def random_blocks(t, n_blocks, rng):
    t = type_name(t)
    if t == "F32":
        return rng.standard_normal(n_blocks).astype("<f4").tobytes()
    if t == "F16":
        return rng.standard_normal(n_blocks).astype("<f2").tobytes()
    if t == "BF16":
        return quantize("BF16", rng.standard_normal(n_blocks))
    b = rng.integers(0, 256, size=(n_blocks, type_size(t)), dtype=np.uint8)

    def put_half(off, signed=False):
        v = rng.uniform(1e-3, 1e-2, n_blocks)
        if signed:
            v *= rng.choice([-1.0, 1.0], n_blocks)
        b[:, off:off + 2] = v.astype("<f2").view(np.uint8).reshape(-1, 2)

    if t in ("Q4_0", "Q5_0", "Q8_0"):
        put_half(0)
    elif t in ("Q4_1", "Q5_1"):
        put_half(0)
        put_half(2, signed=True)
    elif t == "Q8_1":
        put_half(0)
        s = b[:, 4:36].view(np.int8).astype(np.int32).sum(axis=1).astype(F32) * _half(b, 0)[:, 0]
        b[:, 2:4] = s.astype("<f2").view(np.uint8).reshape(-1, 2)
    elif t == "Q2_K":
        put_half(80)
        put_half(82)
    elif t == "Q3_K":
        put_half(108)
    elif t in ("Q4_K", "Q5_K"):
        put_half(0)
        put_half(2)
    elif t == "Q6_K":
        put_half(208)
    elif t == "Q8_K":
        b[:, 0:4] = rng.uniform(1e-3, 1e-2, n_blocks).astype("<f4").view(np.uint8).reshape(-1, 4)
        q = b[:, 4:260].view(np.int8).astype(np.int32)
        q = np.maximum(q, -127)  # ggml's quantizer never writes -128
        b[:, 4:260] = q.astype(np.int8).view(np.uint8)
        b[:, 260:292] = q.reshape(-1, 16, 16).sum(axis=2).astype("<i2").view(np.uint8).reshape(-1, 32)
    return b.tobytes()


# ---- fixture for tests/test_quant.c ----

WEIGHT_TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]
DEQUANT_TYPES = WEIGHT_TYPES + ["Q8_1", "Q8_K"]
N_ROWS, N_COLS, N_TOKENS = 8, 512, 3


def fp16_edge_values():
    """float32 values that exercise every branch of f32 -> f16 rounding."""
    v = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.996, 65520.0, -65520.0, 65536.0, 1e10,
         np.inf, -np.inf, 2.0 ** -14, 2.0 ** -24, -2.0 ** -24, 2.0 ** -25, 2.0 ** -25 * 1.0001,
         3 * 2.0 ** -25, 5 * 2.0 ** -25, 2.0 ** -26, 1e-30, 2.0 ** -14 - 2.0 ** -25,
         2.0 ** -14 - 2.0 ** -24, 1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -11 + 2.0 ** -20,
         2049.0, 2051.0, 0.1, 1.0 / 3.0, 3.14159265]
    v = np.array(v, dtype=F32)
    rng = np.random.default_rng(7)
    wide = (rng.uniform(1, 2, 4000) * 2.0 ** rng.integers(-30, 18, 4000)).astype(F32)
    wide *= rng.choice([-1, 1], 4000).astype(F32)
    # exact midpoints between neighbouring f16 values, normal and subnormal
    h = rng.integers(0, 0x7BFF, 2000).astype(np.uint16)
    a = fp16_bits_to_fp32(h).astype(np.float64)
    b = fp16_bits_to_fp32(h + 1).astype(np.float64)
    mid = ((a + b) / 2).astype(F32)
    return np.concatenate([v, wide, mid]).astype(F32)


def write_fixture(path, seed=1):
    """Records (t = a type name):
      fp16/in (f32), fp16/out (u16 NumPy float16 bits), fp16/all (f32 of all 65536 f16)
      deq/t/raw, deq/t/f32         64 random blocks (or 256 values) and NumPy's values
      dot/t/w, dot/t/w_f32         (N_ROWS, N_COLS) weights, random blocks, and dequantized
      dot/t/x                      (N_TOKENS, N_COLS) f32 activations
      dot/t/xq, dot/t/xq_f32       x quantized to vec_dot_type(t), and dequantized
      dot/t/ref_q (f64)            (N_TOKENS, N_ROWS) w_f32 . xq_f32 in float64
      dot/t/ref_x (f64)            (N_TOKENS, N_ROWS) w_f32 . x in float64
      dims (u32 x3)                N_ROWS, N_COLS, N_TOKENS
    """
    rng = np.random.default_rng(seed)
    rec = []
    edge = fp16_edge_values()
    with np.errstate(over="ignore"):
        rec.append(("fp16/in", edge.astype("<f4").tobytes()))
        rec.append(("fp16/out", fp32_to_fp16_bits(edge).astype("<u2").tobytes()))
    rec.append(("fp16/all", fp16_bits_to_fp32(np.arange(65536)).astype("<f4").tobytes()))
    for t in DEQUANT_TYPES:
        nb = 64 if block_size(t) > 1 else 256
        raw = random_blocks(t, nb, rng)
        n = nb * block_size(t)
        rec.append(("deq/%s/raw" % t, raw))
        rec.append(("deq/%s/f32" % t, dequantize(t, raw, n).astype("<f4").tobytes()))
    for t in WEIGHT_TYPES:
        nb = N_ROWS * N_COLS // block_size(t)
        w = random_blocks(t, nb, rng)
        wf = dequantize(t, w, N_ROWS * N_COLS).reshape(N_ROWS, N_COLS)
        x = rng.standard_normal((N_TOKENS, N_COLS)).astype(F32)
        xq = b"".join(quantize_for_dot(t, x[i]) for i in range(N_TOKENS))
        xqf = dequantize(vec_dot_type(t), xq, N_TOKENS * N_COLS).reshape(N_TOKENS, N_COLS)
        rec.append(("dot/%s/w" % t, w))
        rec.append(("dot/%s/w_f32" % t, wf.astype("<f4").tobytes()))
        rec.append(("dot/%s/x" % t, x.astype("<f4").tobytes()))
        rec.append(("dot/%s/xq" % t, xq))
        rec.append(("dot/%s/xq_f32" % t, xqf.astype("<f4").tobytes()))
        w64 = wf.astype(np.float64)
        rec.append(("dot/%s/ref_q" % t, (xqf.astype(np.float64) @ w64.T).astype("<f8").tobytes()))
        rec.append(("dot/%s/ref_x" % t, (x.astype(np.float64) @ w64.T).astype("<f8").tobytes()))
    rec.append(("dims", np.array([N_ROWS, N_COLS, N_TOKENS], "<u4").tobytes()))
    out = [b"LCQF", struct.pack("<I", len(rec))]
    for name, data in rec:
        nm = name.encode("ascii")
        out += [struct.pack("<H", len(nm)), nm, struct.pack("<Q", len(data)), data]
    with open(path, "wb") as f:
        f.write(b"".join(out))


# ---- self-test ----

def _selftest():
    checks = []

    def check(name, ok):
        checks.append((name, bool(ok)))

    def h(v):
        return np.array([v], F32).astype("<f2").tobytes()

    # Q4_0, hand-made: d = 0.5, byte 0 = 0x9F -> element 0 = (15-8)*0.5, element 16 = (9-8)*0.5
    blk = h(0.5) + bytes([0x9F]) + bytes(15)
    y = dequantize("Q4_0", blk, 32)
    check("q4_0 hand block", y[0] == 3.5 and y[16] == 0.5 and y[1] == -4.0 and y[17] == -4.0)
    # Q5_0: bit 16 of qh is the fifth bit of element 16
    blk = h(1.0) + struct.pack("<I", 1 << 16) + bytes(16)
    y = dequantize("Q5_0", blk, 32)
    check("q5_0 hand block", y[16] == 0.0 and y[0] == -16.0)
    # Q4_K: sub-block 5 has its scale in byte 9 low nibble + byte 1 top bits
    sc = bytearray(12)
    sc[9] = 0x03          # low 4 bits of scale 5, min 5 low bits 0
    sc[1] = 0x40          # bit 6 of byte 1 -> bit 4 of scale 5
    blk = h(1.0) + h(0.0) + bytes(sc) + bytes([0x11] * 128)
    y = dequantize("Q4_K", blk, 256)
    check("q4_k hand block", y[160] == 19.0 and y[0] == 0.0 and y[32] == 0.0)
    # Q6_K: element 128 + 96 + 3 = high nibble of ql[64+32+3] with bits 6..7 of qh[32+3]
    ql = bytearray(128)
    qh = bytearray(64)
    ql[99] = 0xA0
    qh[35] = 0xC0
    scales = bytes([1] * 16)
    blk = bytes(ql) + bytes(qh) + scales + h(2.0)
    y = dequantize("Q6_K", blk, 256)
    check("q6_k hand block", y[227] == 2.0 * (0x3A - 32) and y[0] == -64.0)
    # Q3_K: scale 15 = (byte 7 >> 4) | ((byte 11 >> 6) & 3) << 4 ; all quants 0, hbit set
    s = bytearray(12)
    s[7] = 0x50
    s[11] = 0x80
    qs = bytearray(64)
    qs[63] = 0xC0         # element 128 + 96 + 31 = 255, bits 6..7 = 3
    blk = bytes([0xFF] * 32) + bytes(qs) + bytes(s) + h(1.0)
    y = dequantize("Q3_K", blk, 256)
    check("q3_k hand block", y[255] == (0x25 - 32) * 3 and y[0] == 0.0)
    # Q2_K: scale byte 0x21 -> d*1*q - dmin*2
    blk = bytes([0x21] * 16) + bytes([0xFF] * 64) + h(1.0) + h(0.5)
    y = dequantize("Q2_K", blk, 256)
    check("q2_k hand block", np.all(y == 3.0 - 1.0))
    # bf16 hand values: 1 + 2^-8 ties to even (0x3F80), 0x3F818000 ties up to 0x3F82
    b = fp32_to_bf16_bits(np.array([0x3F808000, 0x3F818000], np.uint32).view(F32))
    check("bf16 ties to even", list(b) == [0x3F80, 0x3F82])

    rng = np.random.default_rng(3)
    limits = {"F32": 0, "F16": 1e-3, "BF16": 8e-3, "Q8_0": 0.01, "Q8_1": 0.01, "Q8_K": 0.01,
              "Q4_0": 0.15, "Q4_1": 0.12, "Q5_0": 0.08, "Q5_1": 0.06, "Q2_K": 0.5,
              "Q3_K": 0.3, "Q4_K": 0.12, "Q5_K": 0.06, "Q6_K": 0.03}
    for t, lim in limits.items():
        x = rng.standard_normal(4 * 256).astype(F32)
        data = quantize(t, x)
        y = dequantize(t, data, x.size)
        err = np.sqrt(np.mean((x - y) ** 2)) / np.sqrt(np.mean(x ** 2))
        check("%s round trip rel rms %.4f <= %g (%d bytes)" % (t, err, lim, len(data)),
              len(data) == row_size(t, x.size) and err <= lim)
        r = random_blocks(t, 4, rng)
        yr = dequantize(t, r, 4 * block_size(t))
        check("%s random blocks finite" % t, len(r) == 4 * type_size(t) and np.all(np.isfinite(yr)))
    z = np.zeros(256, F32)
    check("q8_K of zeros", np.all(dequantize("Q8_K", quantize("Q8_K", z), 256) == 0))

    print("TAP version 13")
    print("1..%d" % len(checks))
    for i, (name, ok) in enumerate(checks, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    return 0 if all(ok for _, ok in checks) else 1


def main(argv):
    if len(argv) >= 2 and argv[1] == "selftest":
        return _selftest()
    if len(argv) >= 3 and argv[1] == "fixture":
        write_fixture(argv[2], int(argv[3]) if len(argv) > 3 else 1)
        return 0
    sys.stderr.write("usage: quants.py selftest | fixture OUT [SEED]\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
