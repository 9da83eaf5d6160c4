#!/usr/bin/env python3
"""Prints the known-answer values hard-coded in test_rng.c, computed
independently of the C code with Python's integers (PCG reference
pcg32_srandom_r(seed, 54) / pcg32_random_r) and doubles (Box-Muller)."""
import math
import struct

MASK = (1 << 64) - 1
MULT = 6364136223846793005


class Pcg32:
    def __init__(self, seed, seq=54):
        self.state, self.inc = 0, ((seq << 1) | 1) & MASK
        self.u32()
        self.state = (self.state + seed) & MASK
        self.u32()

    def u32(self):
        old = self.state
        self.state = (old * MULT + self.inc) & MASK
        x = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((x >> rot) | (x << ((-rot) & 31))) & 0xFFFFFFFF

    def normal(self, mean, std):
        u1 = ((self.u32() >> 8) + 1) / 2**24
        u2 = (self.u32() >> 8) / 2**24
        z = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
        return f32(mean + std * z)

    def below(self, bound):  # Lemire's method, as dnn_rng_below
        m = self.u32() * bound
        if m & 0xFFFFFFFF < bound:
            t = (2**32 - bound) % bound
            while m & 0xFFFFFFFF < t:
                m = self.u32() * bound
        return m >> 32


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


for seed in (42, 0, 0xDEADBEEFCAFEF00D):
    r = Pcg32(seed)
    print(f"seed {seed:#x}: state {r.state} inc {r.inc} u32",
          ", ".join(f"{r.u32():#010x}" for _ in range(6)))
r = Pcg32(7)
print("seed 7 normal(1.5, 2):", ", ".join(f"{r.normal(1.5, 2.0):.9g}f" for _ in range(4)))
r = Pcg32(7)
print("seed 7 below(6):", ", ".join(str(r.below(6)) for _ in range(10)))
r = Pcg32(7)
print("seed 7 below(0x80000001):", ", ".join(f"{r.below(0x80000001):#x}" for _ in range(4)))
