#!/usr/bin/env python3
"""Write the GGUF fixtures of tests/test_gguf.c (and the fuzz seed corpus).

usage: gen_gguf_fixtures.py OUTDIR

The values written here are spelled out again, by hand, in tests/test_gguf.c: the C
test checks that the reader returns what this file says was written. Tensor bytes
follow a formula both sides compute: byte j of tensor k is (7 * j + 13 * k + 1) & 0xff.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_writer import GGUFWriter, T, QTYPE_ID, tensor_nbytes  # noqa: E402


def pattern(k, n):
    return bytes((7 * j + 13 * k + 1) & 0xFF for j in range(n))


# (name, ne, type): the last one's size (64 bytes) is a multiple of every alignment used,
# and the writer puts no padding after it, so the file ends with tensor data.
TENSORS = [
    ("a.weight", [8, 3], "F32"),
    ("b.weight", [64, 2], "Q4_0"),
    ("c.weight", [256, 1, 1], "Q4_K"),
    ("d", [5], "F16"),
    ("blk.0.e", [4, 2, 2, 4], "I8"),
]


def add_tensors(w):
    for k, (name, ne, tname) in enumerate(TENSORS):
        q = QTYPE_ID[tname]
        w.add_tensor(name, ne, q, pattern(k, tensor_nbytes(q, ne)))


def all_types(version, alignment, big=True):
    w = GGUFWriter(version=version, alignment=alignment)
    w.add_string("general.architecture", "testarch")
    w.add_u8("t.u8", 200)
    w.add_i8("t.i8", -100)
    w.add_u16("t.u16", 60000)
    w.add_i16("t.i16", -30000)
    w.add_u32("t.u32", 4000000000)
    w.add_i32("t.i32", -2000000000)
    w.add_f32("t.f32", 1.5)
    w.add_bool("t.bool", True)
    w.add_bool("t.bool_false", False)
    w.add_string("t.string", "h\u00e9llo w\u00f6rld")
    w.add_string("t.empty", "")
    w.add_u64("t.u64", 2**64 - 1)
    w.add_i64("t.i64", -(2**62) - 3)
    w.add_f64("t.f64", 3.25)
    w.add_f64("t.f64_big", 1e300)
    w.add_u64("t.u64_small", 7)
    w.add_i8("t.i8_pos", 5)
    w.add_u32("t.u32_max", 2**32 - 1)
    w.add_array("t.arr_u8", T.UINT8, [1, 2, 255])
    w.add_array("t.arr_i16", T.INT16, [-1, 2, -32768])
    w.add_array("t.arr_f32", T.FLOAT32, [0.5, -2.0])
    w.add_array("t.arr_bool", T.BOOL, [True, False, True])
    w.add_array("t.arr_str", T.STRING, ["", "a", "bc", "def"])
    w.add_array("t.arr_u64", T.UINT64, [2**64 - 1, 0])
    w.add_array("t.arr_empty", T.INT32, [])
    w.add_array("t.arr_f64", T.FLOAT64, [-0.125])
    w.add_array("t.nested", T.ARRAY, [
        (T.INT32, [1, 2, 3]),
        (T.STRING, ["x", "yz"]),
        (T.ARRAY, [(T.UINT8, [9]), (T.STRING, [])]),
    ])
    if big:
        w.add_array("t.arr_str_big", T.STRING, ["tok%d" % i for i in range(1000)])
    add_tensors(w)
    return w


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    all_types(3, 64).write(os.path.join(out, "gguf-v3.gguf"))
    all_types(2, 64, big=False).write(os.path.join(out, "gguf-v2.gguf"))
    all_types(3, None, big=False).write(os.path.join(out, "gguf-align32.gguf"))
    w = GGUFWriter(version=3, alignment=256)
    add_tensors(w)
    w.write(os.path.join(out, "gguf-align256.gguf"))


if __name__ == "__main__":
    main()
