"""NumPy's PCG64 bit generator and the ``Generator`` draws the samplers use, compiled with numba.

:func:`skelaug.augment.compile_pipeline` samples parameters inside numba, so it needs the exact
random stream of ``np.random.Generator(np.random.PCG64(...))``, the generator every augmentation
draws from. This module reproduces it **bit for bit**:

* the bit generator: PCG64 (``XSL-RR 128/64``: a 128-bit LCG with NumPy's multiplier, output
  ``rotr64(hi ^ lo, hi >> 58)``), including NumPy's one-word buffer of 32-bit draws
  (``has_uint32`` / ``uinteger`` in ``bit_generator.state``);
* seeding from an int as ``np.random.default_rng(seed)`` does (``SeedSequence`` with a pool of four
  32-bit words, then ``generate_state(4, uint64)`` as the 128-bit state and stream);
* the draws: :func:`random` (``next_double``: the top 53 bits), :func:`uniform`
  (``low + (high - low) * next_double``) and :func:`integers` (``int64`` output of
  ``Generator.integers``: Lemire's bounded method on 32-bit draws when the range fits in 32 bits,
  on 64-bit draws otherwise, as ``random_bounded_uint64`` in NumPy's ``distributions.c``).

The state is a ``uint64`` array of six words ``[state_hi, state_lo, inc_hi, inc_lo, has_uint32,
uinteger]`` (:data:`STATE_WORDS`); :func:`state_of` reads it from a NumPy generator and
:func:`write_state` writes it back, so a generator advanced here continues exactly as if NumPy had
drawn the same numbers. Nothing here touches global state.

Example:
    >>> import numpy as np
    >>> st = seeded_state(7)
    >>> g = np.random.default_rng(7)
    >>> bool(random(st) == g.random()), bool(integers(st, 0, 10) == g.integers(0, 10))
    (True, True)
    >>> g2 = np.random.default_rng(7)
    >>> _ = g2.random(), g2.integers(0, 10)
    >>> bool((state_of(g2) == st).all())
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "STATE_WORDS", "integers", "next_double", "next_uint32", "next_uint64", "random", "seed_state",
    "seeded_state", "state_of", "uniform", "write_state",
]

#: Number of ``uint64`` words of a state array.
STATE_WORDS = 6
_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF

_MULT_HI = np.uint64(0x2360ED051FC65DA4)      # PCG_DEFAULT_MULTIPLIER_128
_MULT_LO = np.uint64(0x4385DF649FCCF645)
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U11 = np.uint64(11)
_U32 = np.uint64(32)
_U58 = np.uint64(58)
_U63 = np.uint64(63)
_U64M = np.uint64(_M64)
_L32 = np.uint64(_M32)
_DOUBLE_UNIT = 1.0 / 9007199254740992.0         # 2**-53

# SeedSequence constants (numpy/random/bit_generator.pyx)
_INIT_A = np.uint64(0x43B0D7E5)
_MULT_A = np.uint64(0x931E8875)
_INIT_B = np.uint64(0x8B51F9DD)
_MULT_B = np.uint64(0x58F38DED)
_MIX_MULT_L = np.uint64(0xCA01F9DD)
_MIX_MULT_R = np.uint64(0x4973F715)
_XSHIFT = np.uint64(16)
_POOL = 4

_J = njit(cache=True, inline="always", error_model="numpy")


@_J
def _mulhi(a: Any, b: Any) -> Any:
    """High 64 bits of the 128-bit product of two ``uint64``."""
    a_lo, a_hi = a & _L32, a >> _U32
    b_lo, b_hi = b & _L32, b >> _U32
    p0 = a_lo * b_lo
    p1 = a_lo * b_hi
    p2 = a_hi * b_lo
    p3 = a_hi * b_hi
    mid = (p0 >> _U32) + (p1 & _L32) + (p2 & _L32)
    return p3 + (p1 >> _U32) + (p2 >> _U32) + (mid >> _U32)


@_J
def _step(st: Any) -> None:
    """``state = state * MULT + inc`` (mod ``2**128``)."""
    sh, sl = st[0], st[1]
    lo = sl * _MULT_LO
    hi = _mulhi(sl, _MULT_LO) + sh * _MULT_LO + sl * _MULT_HI
    nlo = lo + st[3]
    carry = _U1 if nlo < lo else _U0
    st[0] = hi + st[2] + carry
    st[1] = nlo


@_J
def next_uint64(st: Any) -> Any:
    """One 64-bit output (PCG64 ``XSL-RR``): advance, then ``rotr(hi ^ lo, hi >> 58)``."""
    _step(st)
    value = st[0] ^ st[1]
    rot = st[0] >> _U58
    return (value >> rot) | (value << ((_U64M - rot + _U1) & _U63))


@_J
def next_uint32(st: Any) -> Any:
    """One 32-bit output: the buffered high half of the previous 64-bit draw, else the low half of a new one."""
    if st[4] != _U0:
        st[4] = _U0
        return st[5]
    nxt = next_uint64(st)
    st[4] = _U1
    st[5] = nxt >> _U32
    return nxt & _L32


@_J
def next_double(st: Any) -> float:
    """A double in ``[0, 1)`` from the top 53 bits of a 64-bit draw."""
    return float(next_uint64(st) >> _U11) * _DOUBLE_UNIT


@_J
def random(st: Any) -> float:
    """``Generator.random()``."""
    return next_double(st)


@_J
def uniform(st: Any, low: float, high: float) -> float:
    """``Generator.uniform(low, high)``: ``low + (high - low) * next_double``."""
    return low + (high - low) * next_double(st)


@_J
def _lemire32(st: Any, rng: Any) -> Any:
    """Lemire's bounded draw in ``[0, rng]`` for ``rng < 2**32 - 1`` on 32-bit draws."""
    rng_excl = rng + _U1
    m = next_uint32(st) * rng_excl
    leftover = m & _L32
    if leftover < rng_excl:
        threshold = (_L32 - rng) % rng_excl
        while leftover < threshold:
            m = next_uint32(st) * rng_excl
            leftover = m & _L32
    return m >> _U32


@_J
def _lemire64(st: Any, rng: Any) -> Any:
    """Lemire's bounded draw in ``[0, rng]`` for ``2**32 <= rng < 2**64 - 1`` on 64-bit draws."""
    rng_excl = rng + _U1
    r = next_uint64(st)
    leftover = r * rng_excl
    if leftover < rng_excl:
        threshold = (_U64M - rng) % rng_excl
        while leftover < threshold:
            r = next_uint64(st)
            leftover = r * rng_excl
    return _mulhi(r, rng_excl)


@_J
def integers(st: Any, low: int, high: int) -> Any:
    """``Generator.integers(low, high)`` (``high`` exclusive, ``low < high``) as ``int64``."""
    off = np.int64(low)
    rng = np.uint64(np.int64(high) - off - np.int64(1))
    if rng == _U0:
        return off
    if rng <= _L32:
        if rng == _L32:
            return off + np.int64(next_uint32(st))
        return off + np.int64(_lemire32(st, rng))
    if rng == _U64M:
        return off + np.int64(next_uint64(st))
    return off + np.int64(_lemire64(st, rng))


@_J
def _hashmix(value: Any, hc: Any) -> Any:
    value = (value ^ hc[0]) & _L32
    hc[0] = (hc[0] * _MULT_A) & _L32
    value = (value * hc[0]) & _L32
    return value ^ (value >> _XSHIFT)


@_J
def _mix(x: Any, y: Any) -> Any:
    r = (_MIX_MULT_L * x - _MIX_MULT_R * y) & _L32
    return r ^ (r >> _XSHIFT)


@njit(cache=True, error_model="numpy")
def seed_state(st: Any, words: Any, count: int) -> None:
    """Set ``st`` to the state of ``PCG64(SeedSequence(entropy))``, the entropy an int given as its
    ``count`` (1 to 4) little-endian 32-bit ``words``, as ``np.random.default_rng(int)`` seeds."""
    hc = np.empty(1, dtype=np.uint64)
    hc[0] = _INIT_A
    pool = np.empty(_POOL, dtype=np.uint64)
    for i in range(_POOL):
        pool[i] = _hashmix(words[i] if i < count else _U0, hc)
    for i_src in range(_POOL):
        for i_dst in range(_POOL):
            if i_src != i_dst:
                pool[i_dst] = _mix(pool[i_dst], _hashmix(pool[i_src], hc))
    out = np.empty(8, dtype=np.uint64)
    hb = _INIT_B
    for i in range(8):
        val = (pool[i % _POOL] ^ hb) & _L32
        hb = (hb * _MULT_B) & _L32
        val = (val * hb) & _L32
        out[i] = val ^ (val >> _XSHIFT)
    seed_hi, seed_lo = out[0] | (out[1] << _U32), out[2] | (out[3] << _U32)
    inc_hi, inc_lo = out[4] | (out[5] << _U32), out[6] | (out[7] << _U32)
    st[0], st[1] = _U0, _U0                             # pcg_setseq_128_srandom_r
    st[2] = (inc_hi << _U1) | (inc_lo >> _U63)
    st[3] = (inc_lo << _U1) | _U1
    _step(st)
    lo = st[1] + seed_lo
    st[0] = st[0] + seed_hi + (_U1 if lo < st[1] else _U0)
    st[1] = lo
    _step(st)
    st[4], st[5] = _U0, _U0


def seed_words(seed: int) -> tuple[np.ndarray, int] | None:
    """The entropy words of a non-negative int seed below ``2**128`` (``None`` for larger seeds)."""
    if seed < 0 or seed >= 1 << 128:
        return None
    words = np.zeros(4, dtype=np.uint64)
    count = 0
    while True:
        words[count] = seed & _M32
        count += 1
        seed >>= 32
        if seed == 0:
            return words, count


def seeded_state(seed: int) -> np.ndarray:
    """The state array of ``np.random.default_rng(seed)`` (``0 <= seed``; seeds from ``2**128`` on are
    seeded by NumPy and read back)."""
    st = np.empty(STATE_WORDS, dtype=np.uint64)
    w = seed_words(int(seed))
    if w is None:
        return state_of(np.random.default_rng(seed))
    seed_state(st, w[0], w[1])
    return st


def state_of(generator: np.random.Generator) -> np.ndarray:
    """The state array of a NumPy generator whose bit generator is ``PCG64``."""
    s = generator.bit_generator.state
    if s.get("bit_generator") != "PCG64":
        raise ValueError(f"generator uses {s.get('bit_generator')!r}; only PCG64 is reproduced here")
    state, inc = int(s["state"]["state"]), int(s["state"]["inc"])
    return np.array([state >> 64, state & _M64, inc >> 64, inc & _M64, int(s["has_uint32"]),
                     int(s["uinteger"])], dtype=np.uint64)


def write_state(generator: np.random.Generator, st: np.ndarray) -> None:
    """Set a ``PCG64`` NumPy generator to the state array ``st``."""
    w = [int(v) for v in st]
    generator.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
        "has_uint32": w[4],
        "uinteger": w[5],
    }
