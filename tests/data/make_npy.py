#!/usr/bin/python3
"""Writes .npy files with NumPy for test_csv_npy.c, or checks one it wrote.

    make_npy.py make DIR     the files npy_from_numpy reads
    make_npy.py check FILE   FILE holds float32 [[0.5, -1, 2], [3.25, 1e-3, 7]]
"""
import sys

import numpy as np

BASE = np.array([[0, 1, 2], [3, 4, 5]]) - 2


def make(d):
    for order, prefix, codes in (("<", "lt", "f4 f8 i1 u1 i2 u2 i4 u4 i8 u8"), (">", "gt", "f4 f8 i2 u2 i4 i8")):
        for code in codes.split():
            a = np.abs(BASE) if code[0] == "u" else BASE
            np.save(f"{d}/{prefix}_{code}.npy", a.astype(order + code))
    for major in (2, 3):
        with open(f"{d}/v{major}_f4.npy", "wb") as f:
            np.lib.format.write_array(f, BASE.astype("<f4"), version=(major, 0))
    np.save(f"{d}/scalar.npy", np.float32(3.5))
    np.save(f"{d}/empty.npy", np.zeros((0, 5), np.float32))
    np.save(f"{d}/bool.npy", np.array([True, False, True]))
    np.save(f"{d}/fortran.npy", np.asfortranarray(BASE.astype("<f4")))
    np.save(f"{d}/nan.npy", np.array([0, 1, 2, 3, np.nan], "<f4"))


def check(path):
    a = np.load(path)
    want = np.array([[0.5, -1, 2], [3.25, 1e-3, 7]], np.float32)
    if a.dtype != np.float32 or a.shape != want.shape or not np.array_equal(a, want):
        sys.exit(f"{path}: {a.dtype} {a.shape} {a!r}")


if __name__ == "__main__":
    make(sys.argv[2]) if sys.argv[1] == "make" else check(sys.argv[2])
