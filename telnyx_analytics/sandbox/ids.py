"""The sandbox's record ids: uuid-shaped, keyed by the account, decodable without a scan.

An id hides a 64-bit payload (kind, day ordinal, row, sub) behind a 58-bit tag keyed by
the account, so ids look random, decode back to where their row lives, and another
account's ids fail the tag check.

>>> codec = IdCodec(seed=1, key_hash=2)
>>> codec.decode(codec.one(K_MESSAGE, 739000, 5, 0))
(0, 739000, 5, 0)
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa

K_MESSAGE, K_CALL_LEG, K_CALL_SESSION, K_CALL_EVENT = 0, 1, 2, 3
K_SESSION_EVENT, K_WIRELESS, K_LOOKUP, K_SIP, K_STATIC = 4, 5, 6, 7, 15
# Records of the products behind the Detail Record Search API (sub: which product).
K_PRODUCT = 8
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


_M64 = (1 << 64) - 1
_M58 = (1 << 58) - 1
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a fast, well-spread 64-bit mixing of every element."""
    x = x ^ (x >> np.uint64(30))
    x = x * _C1
    x = x ^ (x >> np.uint64(27))
    x = x * _C2
    return x ^ (x >> np.uint64(31))


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX_POS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


class IdCodec:
    """Account-keyed uuid-shaped ids that decode back to (kind, day ordinal, row, sub)."""

    def __init__(self, seed: int, key_hash: int) -> None:
        k = np.random.SeedSequence([seed, key_hash, 0x1D]).generate_state(3, dtype=np.uint64)
        self._k1, self._k2, self._k3 = (np.uint64(v) for v in k)

    def _tag(self, payload: np.ndarray) -> np.ndarray:
        return _mix(_mix(payload ^ self._k1) + self._k2) & np.uint64(_M58)

    def encode(self, kind: int, day: int, row: Any, sub: Any = 0) -> pa.Array:
        """Ids for arrays of rows (and subs) of one kind and day ordinal, as a string array."""
        row = np.asarray(row, dtype=np.uint64)
        sub = np.broadcast_to(np.asarray(sub, dtype=np.uint64), row.shape)
        payload = (np.uint64(kind) << np.uint64(60)) | (np.uint64(day) << np.uint64(38))
        payload = payload | (row << np.uint64(8)) | sub
        tag = self._tag(payload)
        enc = payload ^ _mix(tag ^ self._k3)
        hi_free = enc >> np.uint64(4)
        lo_free = ((enc & np.uint64(0xF)) << np.uint64(58)) | tag
        hi = ((hi_free >> np.uint64(12)) << np.uint64(16)) | np.uint64(0x4000)
        hi = hi | (hi_free & np.uint64(0xFFF))
        lo = np.uint64(2 << 62) | lo_free
        n = len(row)
        raw = np.empty((n, 2), dtype=">u8")
        raw[:, 0], raw[:, 1] = hi, lo
        octets = raw.view(np.uint8).reshape(n, 16)
        nibbles = np.empty((n, 32), dtype=np.uint8)
        nibbles[:, 0::2], nibbles[:, 1::2] = octets >> 4, octets & 0xF
        text = np.full((n, 36), ord("-"), dtype=np.uint8)
        text[:, _HEX_POS] = _HEX[nibbles]
        offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text.tobytes()))

    def one(self, kind: int, day: int, row: int, sub: int = 0) -> str:
        return self.encode(kind, day, [row], sub)[0].as_py()

    def decode(self, text: str) -> tuple[int, int, int, int] | None:
        """(kind, day ordinal, row, sub) of one of this account's ids, else None."""
        if not isinstance(text, str) or not UUID_RE.match(text.lower()):
            return None
        value = int(text.replace("-", ""), 16)
        hi, lo = value >> 64, value & _M64
        if (hi >> 12) & 0xF != 4 or lo >> 62 != 2:
            return None
        hi_free = ((hi >> 16) << 12) | (hi & 0xFFF)
        lo_free = lo & ((1 << 62) - 1)
        enc = (hi_free << 4) | (lo_free >> 58)
        tag = np.array([lo_free & _M58], dtype=np.uint64)
        payload = np.array([enc], dtype=np.uint64) ^ _mix(tag ^ self._k3)
        if self._tag(payload)[0] != tag[0]:
            return None
        p = int(payload[0])
        return p >> 60, (p >> 38) & ((1 << 22) - 1), (p >> 8) & ((1 << 30) - 1), p & 0xFF
