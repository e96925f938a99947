#!/usr/bin/env python3
"""Write and read GGUF files (versions 2 and 3) for tests.

Source: ggml's docs/gguf.md. Standard library + NumPy only. Little-endian.

Writing
-------
    from gguf_writer import GGUFWriter, T

    w = GGUFWriter(version=3, alignment=32)   # alignment=None: no general.alignment key, 32
    w.add_string("general.architecture", "llama")
    w.add_u32("llama.context_length", 4096)
    w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_array("tokenizer.ggml.tokens", T.STRING, ["<s>", "a", "b"])
    w.add_array("nested", T.ARRAY, [(T.INT32, [1, 2]), (T.STRING, ["x"])])
    w.add_tensor("tok_embd.weight", ne=[64, 3], qtype=0, data=raw_bytes)   # ne[0] innermost
    w.add_tensor_f32("output_norm.weight", np.ones(64, np.float32))        # ne = shape reversed
    w.write("model.gguf")       # or w.to_bytes()

Scalar adders, one per GGUF value type: add_u8, add_i8, add_u16, add_i16, add_u32,
add_i32, add_f32, add_bool, add_string, add_u64, add_i64, add_f64. add_value(key, type,
value) does the same with the type given. add_array(key, type, values): values are plain
Python values of the element type; for type T.ARRAY each value is a (type, values) pair,
nested as deep as needed. Keys are written in the order they are added; general.alignment
is written first when alignment is not None.

Tensors: add_tensor(name, ne, qtype, data) takes the tensor's raw bytes (any quantized
layout the caller produced) and checks that their length is what the type id and shape
give (QTYPES below: type id -> (name, block size, bytes per block); QTYPE_ID: name ->
id; tensor_nbytes(qtype, ne) gives the expected length). Tensor data is
placed in the order added, each at an offset that is a multiple of the alignment, padded
with zero bytes between tensors; the file ends right after the last tensor's data.

Reading
-------
    f = read_gguf("model.gguf")
    f.version, f.alignment, f.data_offset
    f.metadata["general.architecture"]       -> "llama"   (arrays -> lists, nested lists)
    f.types["general.architecture"]          -> T.STRING  (arrays -> (T.ARRAY, elem type))
                                                (nested arrays read as plain nested lists:
                                                 their inner element types are not kept)
    f.tensors["tok_embd.weight"]             -> TensorInfo(name, ne, qtype, offset, data)
    f.tensor_order                           -> names in file order
    f.tensor_f32("output_norm.weight")       -> NumPy array, shape = ne reversed (F32/F16)
"""
import struct
from collections import namedtuple

import numpy as np


class T:
    """GGUF metadata value types (gguf_metadata_value_type)."""
    UINT8 = 0
    INT8 = 1
    UINT16 = 2
    INT16 = 3
    UINT32 = 4
    INT32 = 5
    FLOAT32 = 6
    BOOL = 7
    STRING = 8
    ARRAY = 9
    UINT64 = 10
    INT64 = 11
    FLOAT64 = 12


# struct format of each fixed-size value type
_FMT = {
    T.UINT8: "<B", T.INT8: "<b", T.UINT16: "<H", T.INT16: "<h", T.UINT32: "<I",
    T.INT32: "<i", T.FLOAT32: "<f", T.BOOL: "<?", T.UINT64: "<Q", T.INT64: "<q",
    T.FLOAT64: "<d",
}

# ggml type id -> (name, elements per block, bytes per block); ggml's ggml-common.h
QTYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8),
    28: ("F64", 1, 8), 30: ("BF16", 1, 2),
}
QTYPE_ID = {v[0]: k for k, v in QTYPES.items()}


def tensor_nbytes(qtype, ne):
    """Bytes of a tensor of type id qtype and shape ne (ne[0] innermost)."""
    name, bs, ts = QTYPES[qtype]
    if ne[0] % bs:
        raise ValueError(f"row of {ne[0]} elements is not a multiple of {name}'s block {bs}")
    n = ne[0] // bs * ts
    for d in ne[1:]:
        n *= d
    return n


def _str(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _value(vtype, v):
    if vtype == T.STRING:
        return _str(v)
    if vtype == T.ARRAY:
        etype, values = v
        out = [struct.pack("<IQ", etype, len(values))]
        if etype in _FMT:
            out.append(b"".join(struct.pack(_FMT[etype], x) for x in values))
        else:
            out.extend(_value(etype, x) for x in values)
        return b"".join(out)
    return struct.pack(_FMT[vtype], v)


class GGUFWriter:
    def __init__(self, version=3, alignment=None):
        if version not in (2, 3):
            raise ValueError("GGUF version 2 or 3")
        self.version = version
        self.alignment = alignment
        self.kv = []        # (key, type, value)
        self.tensors = []   # (name, ne, qtype, data)

    def add_value(self, key, vtype, value):
        self.kv.append((key, vtype, value))

    def add_u8(self, key, v): self.add_value(key, T.UINT8, v)
    def add_i8(self, key, v): self.add_value(key, T.INT8, v)
    def add_u16(self, key, v): self.add_value(key, T.UINT16, v)
    def add_i16(self, key, v): self.add_value(key, T.INT16, v)
    def add_u32(self, key, v): self.add_value(key, T.UINT32, v)
    def add_i32(self, key, v): self.add_value(key, T.INT32, v)
    def add_f32(self, key, v): self.add_value(key, T.FLOAT32, v)
    def add_bool(self, key, v): self.add_value(key, T.BOOL, bool(v))
    def add_string(self, key, v): self.add_value(key, T.STRING, v)
    def add_u64(self, key, v): self.add_value(key, T.UINT64, v)
    def add_i64(self, key, v): self.add_value(key, T.INT64, v)
    def add_f64(self, key, v): self.add_value(key, T.FLOAT64, v)

    def add_array(self, key, etype, values):
        """values: list of the element type; for T.ARRAY, a list of (type, values)."""
        self.add_value(key, T.ARRAY, (etype, list(values)))

    def add_tensor(self, name, ne, qtype, data):
        """Raw bytes of a tensor: ne = [ne0, ne1, ...] (ne0 innermost), qtype a ggml id."""
        ne = [int(x) for x in ne]
        data = bytes(data)
        if not 1 <= len(ne) <= 4:
            raise ValueError("1 to 4 dimensions")
        if len(data) != tensor_nbytes(qtype, ne):
            raise ValueError(f"tensor {name}: {len(data)} bytes, expected "
                             f"{tensor_nbytes(qtype, ne)}")
        self.tensors.append((name, ne, qtype, data))

    def add_tensor_f32(self, name, array):
        a = np.ascontiguousarray(array, dtype="<f4")
        self.add_tensor(name, list(reversed(a.shape)), 0, a.tobytes())

    def add_tensor_f16(self, name, array):
        a = np.ascontiguousarray(array, dtype="<f2")
        self.add_tensor(name, list(reversed(a.shape)), 1, a.tobytes())

    def to_bytes(self):
        align = self.alignment if self.alignment is not None else 32
        kv = list(self.kv)
        if self.alignment is not None:
            kv.insert(0, ("general.alignment", T.UINT32, self.alignment))
        out = [b"GGUF", struct.pack("<IQQ", self.version, len(self.tensors), len(kv))]
        for key, vtype, value in kv:
            out.append(_str(key) + struct.pack("<I", vtype) + _value(vtype, value))
        offsets, off = [], 0
        for name, ne, qtype, data in self.tensors:
            off = (off + align - 1) // align * align
            offsets.append(off)
            off += len(data)
        for (name, ne, qtype, data), o in zip(self.tensors, offsets):
            out.append(_str(name) + struct.pack("<I", len(ne)) +
                       b"".join(struct.pack("<Q", d) for d in ne) + struct.pack("<IQ", qtype, o))
        head = b"".join(out)
        blob = bytearray(head)
        if self.tensors:
            blob += bytes((align - len(blob) % align) % align)
        start = len(blob)
        for (name, ne, qtype, data), o in zip(self.tensors, offsets):
            blob += bytes(start + o - len(blob))
            blob += data
        return bytes(blob)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.to_bytes())


TensorInfo = namedtuple("TensorInfo", "name ne qtype offset data")


class GGUFFile:
    def __init__(self):
        self.version = 0
        self.alignment = 32
        self.data_offset = 0
        self.metadata = {}
        self.types = {}
        self.tensors = {}
        self.tensor_order = []

    def tensor_f32(self, name):
        t = self.tensors[name]
        dt = {0: "<f4", 1: "<f2"}[t.qtype]
        return np.frombuffer(t.data, dtype=dt).astype(np.float32).reshape(tuple(reversed(t.ne)))


class _Cursor:
    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take("<Q")
        if self.pos + n > len(self.buf):
            raise ValueError("string runs past end of file")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b.decode("utf-8", errors="surrogateescape")

    def value(self, vtype):
        if vtype == T.STRING:
            return self.string(), vtype
        if vtype == T.ARRAY:
            etype, n = self.take("<IQ")
            if etype in _FMT:
                fmt = "<%d%s" % (n, _FMT[etype][1])
                vals = list(struct.unpack_from(fmt, self.buf, self.pos))
                self.pos += struct.calcsize(fmt)
                return vals, (T.ARRAY, etype)
            return [self.value(etype)[0] for _ in range(n)], (T.ARRAY, etype)
        return self.take(_FMT[vtype]), vtype


def read_gguf(path_or_bytes):
    """Parse a GGUF file (path or bytes) into a GGUFFile. Raises ValueError when malformed."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        buf = bytes(path_or_bytes)
    else:
        with open(path_or_bytes, "rb") as f:
            buf = f.read()
    c = _Cursor(buf)
    if buf[:4] != b"GGUF":
        raise ValueError("not a GGUF file")
    c.pos = 4
    g = GGUFFile()
    g.version, n_tensors, n_kv = c.take("<IQQ")
    if g.version not in (2, 3):
        raise ValueError(f"unsupported version {g.version}")
    for _ in range(n_kv):
        key = c.string()
        vtype = c.take("<I")
        g.metadata[key], g.types[key] = c.value(vtype)
    g.alignment = g.metadata.get("general.alignment", 32)
    infos = []
    for _ in range(n_tensors):
        name = c.string()
        nd = c.take("<I")
        ne = [c.take("<Q") for _ in range(nd)]
        qtype, off = c.take("<IQ")
        infos.append((name, ne, qtype, off))
    g.data_offset = (c.pos + g.alignment - 1) // g.alignment * g.alignment
    for name, ne, qtype, off in infos:
        start = g.data_offset + off
        n = tensor_nbytes(qtype, ne)
        if start + n > len(buf):
            raise ValueError(f"tensor {name} runs past end of file")
        g.tensors[name] = TensorInfo(name, ne, qtype, off, buf[start:start + n])
        g.tensor_order.append(name)
    return g


if __name__ == "__main__":
    import sys
    f = read_gguf(sys.argv[1])
    print(f"version {f.version}, alignment {f.alignment}, data at {f.data_offset}")
    for k, v in f.metadata.items():
        s = repr(v)
        print(f"{k} ({f.types[k]}): {s[:100]}{'...' if len(s) > 100 else ''}")
    for n in f.tensor_order:
        t = f.tensors[n]
        print(f"tensor {n}: ne={t.ne} type={QTYPES[t.qtype][0]} offset={t.offset}")
