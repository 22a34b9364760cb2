#!/usr/bin/env python3
"""Independent checker for the test vectors of spec/record.md (Setu signed records v1)
and of spec/net.md (the frames of the sync protocol, versions 1 and 2).

The record part is written from spec/record.md alone (plus the code tables it names in
§6.8), the frame part from spec/net.md §4 and §9 alone, without reading the reference
implementation. It contains:

  * a hand-written strict decoder for the CBOR profile of §2 (cbor / noncanonical,
    with the precedence of §2.3),
  * the canonical encoder of §2.2,
  * pure-Python Ed25519 point arithmetic for the strict, cofactored verification of §5
    (PyNaCl is used only to *make* RFC 8032 signatures and as a cross-check),
  * the ordered record check of §7 with the body schemas of §6 (practice), §6b
    (adoption), §6c (seeking) and §6d (attachment), the paths of §6.1 and the
    limits of §9,
  * the JSON -> CBOR reading of §8,
  * the vector runner of §11,
  * a decoder and encoder for every frame of spec/net.md §4 (sync, bulk, push, fetch,
    offer; sync reply, bulk batch, push ack, records, want, refused) and the gossip
    announcement, with the refusals of §4.11 and the vector runner of §9.

Usage: python3 spec/tools/check_vectors.py [spec/vectors/records.json | spec/vectors/net.json]
Without an argument it checks both files. Prints one line per vector (net vectors as
"net/NAME"), then "N passed, M failed"; exits 0 only if M == 0.
"""

from __future__ import annotations

import calendar
import copy
import hashlib
import json
import re
import sys
import unicodedata
from pathlib import Path

import nacl.exceptions
import nacl.signing

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VECTORS = REPO_ROOT / "spec" / "vectors" / "records.json"
DATA_DIR = REPO_ROOT / "crates" / "setu-core" / "data"

# ---------------------------------------------------------------------------
# §9 Limits
# ---------------------------------------------------------------------------
MAX_RECORD_BYTES = 262_144
MAX_DEPTH = 16
MAX_KIND_BYTES = 32
SIGNATURE_BYTES = 64
PRACTICE_ID_BYTES = 64
TITLE_BYTES = 1_024
LONG_TEXT_BYTES = 16_384
SHORT_TEXT_BYTES = 512
KEYWORD_BYTES = 128
URL_BYTES = 2_048
LANGUAGES = 32
LIST_ITEMS = 64
REVISION_MAX = 1_000_000
CHANGE_BP_MIN, CHANGE_BP_MAX = -10_000, 1_000_000
YEAR_MIN, YEAR_MAX = 1900, 2100

SIGN_CONTEXT = b"setu/v1/record"  # §4: 14 ASCII bytes


# ---------------------------------------------------------------------------
# §2.3 Decoding: a strict, hand-written byte-level decoder.
#
# Strategy (the first one §2.3 suggests): parse leniently, raise CborFault at the
# first `cbor` fault (well-formedness or out-of-profile), and only *remember*
# `noncanonical` faults. Because any `cbor` fault anywhere wins, the parse goes
# on after a noncanonical fault and only reports `noncanonical` at the very end.
#
# Decoded values: int (never bool), bool, bytes, str, list, dict (str keys).
# ---------------------------------------------------------------------------


class CborFault(Exception):
    """Reason `cbor`: not well-formed, or outside the profile of §2.1."""


class _Decoder:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.noncanonical: list[str] = []  # remembered `noncanonical` faults

    # -- helpers ------------------------------------------------------------
    def fail(self, msg: str, at: int | None = None):
        raise CborFault(f"{msg} (byte {self.pos if at is None else at})")

    def note(self, msg: str, at: int):
        self.noncanonical.append(f"{msg} (byte {at})")

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        # §2.3: input that ends inside an item; a declared length larger than what remains.
        # Checked before slicing, so nothing is allocated on a declared length alone.
        if n > self.remaining():
            self.fail(f"input ends inside an item (needs {n} bytes, {self.remaining()} remain)")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def peek(self) -> int:
        if self.pos >= len(self.data):
            self.fail("input ends inside an item")
        return self.data[self.pos]

    def argument(self, ai: int, start: int) -> int:
        """Read the argument of a head whose additional information is 0..27.
        §2.2 rule 1: a non-shortest head is `noncanonical`."""
        if ai < 24:
            return ai
        width = 1 << (ai - 24)  # 24 -> 1, 25 -> 2, 26 -> 4, 27 -> 8 bytes
        value = int.from_bytes(self.take(width), "big")
        shortest_floor = {24: 24, 25: 256, 26: 65_536, 27: 1 << 32}[ai]
        if value < shortest_floor:
            self.note(f"non-shortest head (value {value} in {width + 1} bytes)", start)
        return value

    # -- items --------------------------------------------------------------
    def item(self, level: int):
        """Decode one item. `level` is the nesting level an array or map found here
        would have (§2.1: the top-level container is at level 1)."""
        start = self.pos
        ib = self.take(1)[0]
        major, ai = ib >> 5, ib & 0x1F

        # major type 7: only false/true are in the profile (§2.1)
        if major == 7:
            if ai == 20:
                return False
            if ai == 21:
                return True
            if ai == 31:
                self.fail("break byte 0xff outside an indefinite-length item", start)
            what = {22: "null", 23: "undefined", 24: "simple value (0xf8 xx)",
                    25: "half-precision float", 26: "single-precision float",
                    27: "double-precision float"}.get(ai, f"simple value {ai}")
            if 28 <= ai <= 30:
                what = f"additional information {ai}"
            self.fail(f"{what} is outside the profile", start)

        if 28 <= ai <= 30:
            self.fail(f"additional information {ai} (reserved)", start)
        if major == 6:
            self.fail("tag (major type 6) is outside the profile", start)

        if ai == 31:  # indefinite length
            if major in (0, 1):
                self.fail("indefinite-length integer", start)
            self.note(f"indefinite-length {['', '', 'byte string', 'text string', 'array', 'map'][major]}", start)
            if major in (2, 3):
                return self.indefinite_string(major, start)
            if major == 4:
                self.check_level(level, start)
                out = []
                while self.peek() != 0xFF:
                    out.append(self.item(level + 1))
                self.pos += 1  # the break
                return out
            # major == 5
            self.check_level(level, start)
            return self.map_pairs(None, level, start)

        n = self.argument(ai, start)
        if major == 0:
            return n
        if major == 1:
            if n > (1 << 63) - 1:
                self.fail("negative integer below -2^63", start)
            return -1 - n
        if major == 2:
            return self.take(n)
        if major == 3:
            return self.text(self.take(n), start)
        if major == 4:
            self.check_level(level, start)
            # §2.3: an array of n items needs at least n bytes
            if n > self.remaining():
                self.fail(f"array of {n} items but only {self.remaining()} bytes remain", start)
            return [self.item(level + 1) for _ in range(n)]
        # major == 5
        self.check_level(level, start)
        # §2.3: a map of n pairs needs at least 2n bytes
        if 2 * n > self.remaining():
            self.fail(f"map of {n} pairs but only {self.remaining()} bytes remain", start)
        return self.map_pairs(n, level, start)

    def check_level(self, level: int, start: int):
        # §2.1 Nesting: a level-17 array or map is refused, even if empty.
        if level > MAX_DEPTH:
            self.fail(f"array or map at nesting level {level} (limit {MAX_DEPTH})", start)

    def text(self, raw: bytes, start: int, nfc_check: bool = True) -> str:
        try:
            s = raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            self.fail(f"text is not valid UTF-8 ({e.reason})", start)
        if nfc_check and not unicodedata.is_normalized("NFC", s):
            self.note("text not in NFC", start)
        return s

    def indefinite_string(self, major: int, start: int):
        chunks = []
        while True:
            cstart = self.pos
            cb = self.peek()
            if cb == 0xFF:
                self.pos += 1
                break
            self.pos += 1
            if cb >> 5 != major:
                self.fail("chunk of an indefinite-length string has another major type", cstart)
            cai = cb & 0x1F
            if cai == 31:
                self.fail("chunk of an indefinite-length string is itself indefinite", cstart)
            if 28 <= cai <= 30:
                self.fail(f"additional information {cai} (reserved)", cstart)
            raw = self.take(self.argument(cai, cstart))
            if major == 3:
                self.text(raw, cstart, nfc_check=False)  # each chunk must be valid UTF-8
            chunks.append(raw)
        whole = b"".join(chunks)
        if major == 2:
            return whole
        return self.text(whole, start)  # valid (each chunk was); NFC of the whole text

    def map_pairs(self, n: int | None, level: int, start: int) -> dict:
        out: dict = {}
        prev_key_enc: bytes | None = None
        i = 0
        while True:
            if n is None:
                if self.peek() == 0xFF:
                    self.pos += 1
                    break
            elif i == n:
                break
            kstart = self.pos
            if self.peek() >> 5 != 3:
                # a break byte here in a definite map is also a `cbor` fault
                self.fail("map key is not a text string", kstart)
            key = self.item(level + 1)
            value = self.item(level + 1)
            # §2.2 rule 5: keys sorted by their encoded bytes; no duplicates
            key_enc = encode(key)
            if prev_key_enc is not None:
                if key_enc == prev_key_enc or key in out:
                    self.note(f"duplicate map key {key!r}", kstart)
                elif key_enc < prev_key_enc:
                    self.note(f"map key {key!r} out of order", kstart)
            prev_key_enc = key_enc
            out[key] = value
            i += 1
        return out


def decode(data: bytes):
    """§2.3. Returns (value, noncanonical_faults). Raises CborFault for `cbor`.
    The caller maps a non-empty noncanonical list to reason `noncanonical`."""
    d = _Decoder(data)
    value = d.item(1)
    if d.pos != len(data):
        d.fail(f"{len(data) - d.pos} trailing byte(s) after the top-level item")
    return value, d.noncanonical


# ---------------------------------------------------------------------------
# §2.2 Canonical encoding
# ---------------------------------------------------------------------------


def _head(major: int, n: int) -> bytes:
    # rule 1: shortest head, big-endian multi-byte arguments
    if n < 24:
        return bytes([major << 5 | n])
    if n < 1 << 8:
        return bytes([major << 5 | 24]) + n.to_bytes(1, "big")
    if n < 1 << 16:
        return bytes([major << 5 | 25]) + n.to_bytes(2, "big")
    if n < 1 << 32:
        return bytes([major << 5 | 26]) + n.to_bytes(4, "big")
    if n < 1 << 64:
        return bytes([major << 5 | 27]) + n.to_bytes(8, "big")
    raise ValueError(f"argument {n} does not fit in 64 bits")


def encode(v) -> bytes:
    """Canonical CBOR (§2.2) of a value of the §2.1 data model."""
    if v is False:
        return b"\xf4"
    if v is True:
        return b"\xf5"
    if type(v) is int:
        if 0 <= v < 1 << 64:
            return _head(0, v)
        if -(1 << 63) <= v < 0:
            return _head(1, -1 - v)  # rule 3
        raise ValueError(f"integer {v} is outside the profile")
    if isinstance(v, (bytes, bytearray)):
        return _head(2, len(v)) + bytes(v)
    if isinstance(v, str):
        b = unicodedata.normalize("NFC", v).encode("utf-8")  # rule 4
        return _head(3, len(b)) + b
    if isinstance(v, list):
        return _head(4, len(v)) + b"".join(encode(x) for x in v)
    if isinstance(v, dict):
        pairs = []
        seen = set()
        for k, x in v.items():
            if not isinstance(k, str):
                raise ValueError("map key is not text")
            ek = encode(k)
            if ek in seen:
                raise ValueError(f"two keys equal after NFC: {k!r}")
            seen.add(ek)
            pairs.append((ek, encode(x)))
        pairs.sort(key=lambda p: p[0])  # rule 5: bytewise order of encoded keys
        return _head(5, len(pairs)) + b"".join(k + x for k, x in pairs)
    raise ValueError(f"{type(v).__name__} has no CBOR form in the profile")


# ---------------------------------------------------------------------------
# §5 Ed25519 (pure Python, extended coordinates; modelled on RFC 8032 §6)
# ---------------------------------------------------------------------------
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
IDENTITY = (0, 1, 1, 0)


def _pt_add(p1, p2):
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _pt_neg(p1):
    x, y, z, t = p1
    return (-x % P, y, z, -t % P)


def _pt_mul(s: int, p1):
    q = IDENTITY
    while s > 0:
        if s & 1:
            q = _pt_add(q, p1)
        p1 = _pt_add(p1, p1)
        s >>= 1
    return q


def _pt_eq(p1, p2) -> bool:
    x1, y1, z1, _ = p1
    x2, y2, z2, _ = p2
    return (x1 * z2 - x2 * z1) % P == 0 and (y1 * z2 - y2 * z1) % P == 0


def _is_identity(p1) -> bool:
    return _pt_eq(p1, IDENTITY)


def _recover_x(y: int, sign: int):
    # RFC 8032 §5.1.3 steps 2-4
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def point_encode(p1) -> bytes:
    x, y, z, _ = p1
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def point_decode_canonical(b: bytes):
    """§5 check 1 (and the first half of check 3): decode per RFC 8032 §5.1.3 and
    require that re-encoding gives the same 32 bytes. Returns the point or None."""
    if len(b) != 32:
        return None
    n = int.from_bytes(b, "little")
    sign, y = n >> 255, n & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    if x is None:
        return None
    p1 = (x, y, 1, x * y % P)
    if point_encode(p1) != b:  # canonical encoding
        return None
    return p1


def is_small_order(p1) -> bool:
    # §5 check 2: [8]A is the identity
    return _is_identity(_pt_mul(8, p1))


_BY = 4 * pow(5, P - 2, P) % P
BASE = (_recover_x(_BY, 0), _BY, 1, _recover_x(_BY, 0) * _BY % P)


def check_key(a_bytes: bytes) -> str | None:
    """§5 key checks 1-2. Returns a problem description or None."""
    a = point_decode_canonical(a_bytes)
    if a is None:
        return "author does not decode to a point with a canonical encoding"
    if is_small_order(a):
        return "author is a point of small order"
    return None


def check_signature(a_bytes: bytes, msg: bytes, sig: bytes, cofactored: bool = True) -> str | None:
    """§5 signature checks 3-5 (key checks assumed passed). Returns problem or None.
    cofactored=False evaluates the cofactorless equation instead (used only to
    confirm the claim of §12 about the torsion_in_r vector)."""
    a = point_decode_canonical(a_bytes)
    r_bytes, s_bytes = sig[:32], sig[32:]
    # §5 step 3
    r = point_decode_canonical(r_bytes)
    if r is None:
        return "R does not decode to a point with a canonical encoding"
    if is_small_order(r):
        return "R is a point of small order"
    # §5 step 4
    s = int.from_bytes(s_bytes, "little")
    if s >= L:
        return "S >= L"
    # §5 step 5
    k = int.from_bytes(hashlib.sha512(r_bytes + a_bytes + msg).digest(), "little") % L
    sb, ka = _pt_mul(s, BASE), _pt_mul(k, a)
    if cofactored:  # [8][S]B == [8]R + [8][k]A
        ok = _pt_eq(_pt_mul(8, sb), _pt_add(_pt_mul(8, r), _pt_mul(8, ka)))
    else:           # [S]B == R + [k]A
        ok = _pt_eq(sb, _pt_add(r, ka))
    return None if ok else "the {} equation does not hold".format(
        "cofactored" if cofactored else "cofactorless")


# ---------------------------------------------------------------------------
# §6.8 Code tables
# ---------------------------------------------------------------------------


def load_table(name: str) -> frozenset[str]:
    """TSV: '#' comment lines, a header row, then rows; the key is the first column."""
    keys = []
    header_seen = False
    for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if not header_seen:
            header_seen = True
            continue
        keys.append(line.split("\t", 1)[0])
    return frozenset(keys)


class Tables:
    def __init__(self):
        self.countries = load_table("countries.tsv")
        self.languages = load_table("languages.tsv")
        self.currencies = load_table("currencies.tsv")
        self.sdg_targets = load_table("sdg_targets.tsv")
        self.iati_status = load_table("iati_activity_status.tsv")
        self.dac5 = load_table("dac5.tsv")
        self.cofog = load_table("cofog.tsv")
        self.spdx = load_table("spdx.tsv")


# ---------------------------------------------------------------------------
# §6 The practice body
# ---------------------------------------------------------------------------

PRACTICE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")   # §6.2
DATE_RE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")  # §6.7
KIND_RE = re.compile(r"[a-z][a-z0-9_\-]{0,31}")                       # §3

# Keys of §6.4-6.7 (active practice), and of §6.3 (withdrawal)
ACTIVE_REQUIRED = ["practice_id", "revision", "state", "licence", "title", "summary",
                   "challenge", "solution", "countries", "sdg_targets", "status", "period"]
ACTIVE_OPTIONAL = ["supersedes", "replication_potential", "lessons", "organisations",
                   "sectors", "gov_level", "keywords", "urls", "contact", "exchange",
                   "recognition", "reach", "evidence_level", "replaces", "metrics"]
WITHDRAWAL_KEYS = ["practice_id", "revision", "supersedes", "state", "reason"]
# §6.1/§6.2: the keys besides the id that every body of a chained kind has;
# when one (or the id) is missing, the path is "body"
LIFECYCLE_KEYS = ("revision", "state")


def is_uint(v) -> bool:
    return type(v) is int and v >= 0


def nbytes(s: str) -> int:
    return len(s.encode("utf-8"))


def parse_date(s: str):
    """§6.7: returns (first_day, last_day) as (y, m, d) tuples, or None."""
    m = DATE_RE.fullmatch(s)
    if not m:
        return None
    y = int(m.group(1))
    if not YEAR_MIN <= y <= YEAR_MAX:
        return None
    if m.group(2) is None:
        return (y, 1, 1), (y, 12, 31)
    mo = int(m.group(2))
    if not 1 <= mo <= 12:
        return None
    last = calendar.monthrange(y, mo)[1]  # Gregorian, leap years included
    if m.group(3) is None:
        return (y, mo, 1), (y, mo, last)
    d = int(m.group(3))
    if not 1 <= d <= last:
        return None
    return (y, mo, d), (y, mo, d)


def _is_ws_or_control(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Cc"


def url_problem(s: str) -> str | None:
    """§6.5 urls: http:// or https:// with a non-empty host, <= 2048 bytes,
    no whitespace or control characters."""
    if nbytes(s) > URL_BYTES:
        return f"is longer than {URL_BYTES} bytes"
    if any(_is_ws_or_control(c) for c in s):
        return "contains whitespace or a control character"
    for scheme in ("http://", "https://"):
        if s.startswith(scheme):
            rest = s[len(scheme):]
            break
    else:
        return "is not an http:// or https:// URL"
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = authority  # §6.5: the authority must be non-empty
    if not host:
        return "has an empty host"
    return None


class PracticeSchema:
    """§6: returns every problem found, each with its path (§6.1)."""

    def __init__(self, tables: Tables):
        self.t = tables
        self.problems: list[str] = []
        self.paths: list[str] = []  # the path of each problem, each once, in order

    def bad(self, path: str, msg: str):
        self.problems.append(f"{path}: {msg}")
        if path not in self.paths:
            self.paths.append(path)

    def check(self, body) -> list[str]:
        self.problems = []
        self.paths = []
        if not isinstance(body, dict):
            self.bad("body", "is not a map")
            return self.problems
        self.no_empty(body, "body")  # §6.1: no empty text, array or map anywhere
        state = body.get("state")  # a missing state is reported by active()
        if "state" in body and state not in ("active", "withdrawn"):
            self.bad("body.state", f"{state!r} is not \"active\" or \"withdrawn\"")
        if state == "withdrawn":
            self.withdrawal(body)
        else:
            self.active(body)
        return self.problems

    # -- §6.1 -------------------------------------------------------------------
    def no_empty(self, v, path: str):
        if isinstance(v, str) and v == "":
            self.bad(path, "is an empty text string")
        elif isinstance(v, list):
            if not v:
                self.bad(path, "is an empty array")
            for i, x in enumerate(v):
                self.no_empty(x, f"{path}[{i}]")
        elif isinstance(v, dict):
            if not v:
                self.bad(path, "is an empty map")
            for k, x in v.items():
                self.no_empty(x, f"{path}.{k}")

    # -- generic field helpers --------------------------------------------------
    def fields(self, path: str, m, required: dict, optional: dict, always=None):
        """A map with required and optional keys; unknown keys are an error (§6.1).

        §6.1 paths: a missing key that every map of its type has (`always`: by
        default every required key of a nested map) is reported at the map's
        path; any other missing key at its own."""
        if not isinstance(m, dict):
            self.bad(path, "is not a map")
            return False
        if always is None:
            always = () if path == "body" else tuple(required)
        for k in m:
            if k not in required and k not in optional:
                self.bad(f"{path}.{k}", "is not a known key")
        for k in required:
            if k not in m:
                if k in always:
                    self.bad(path, f"lacks the key {k!r}")
                else:
                    self.bad(f"{path}.{k}", "is missing")
        for k, fn in list(required.items()) + list(optional.items()):
            if k in m and fn is not None:
                fn(f"{path}.{k}", m[k])
        return True

    def text(self, path, v, lo=1, hi=SHORT_TEXT_BYTES) -> bool:
        if not isinstance(v, str):
            self.bad(path, "is not text")
            return False
        n = nbytes(v)
        if not lo <= n <= hi:
            self.bad(path, f"is {n} bytes (allowed {lo}..{hi})")
            return False
        return True

    def enum(self, *values):
        def f(path, v):
            if not isinstance(v, str) or v not in values:
                self.bad(path, f"{v!r} is not one of {', '.join(values)}")
        return f

    def code(self, table: frozenset, what: str):
        def f(path, v):
            if not isinstance(v, str) or v not in table:
                self.bad(path, f"{v!r} is not {what}")
        return f

    def uint_range(self, lo, hi=None):
        def f(path, v):
            if not is_uint(v) or v < lo or (hi is not None and v > hi):
                self.bad(path, f"{v!r} is not an unsigned integer in {lo}..{hi if hi is not None else ''}")
        return f

    def array(self, path, v, item, lo=1, hi=LIST_ITEMS):
        if not isinstance(v, list):
            self.bad(path, "is not an array")
            return False
        if not lo <= len(v) <= hi:
            self.bad(path, f"has {len(v)} items (allowed {lo}..{hi})")
        for i, x in enumerate(v):
            item(f"{path}[{i}]", x)
        return True

    def no_duplicates(self, path, v, describe=repr):
        if not isinstance(v, list):
            return
        seen = []
        for i, x in enumerate(v):
            if x in seen:
                self.bad(f"{path}[{i}]", f"{describe(x)} is listed twice")
            seen.append(x)

    # -- §6.2 -------------------------------------------------------------------
    def practice_id(self, path, v):
        if not isinstance(v, str) or not PRACTICE_ID_RE.fullmatch(v):
            self.bad(path, f"{v!r} is not a practice id")

    def revision(self, path, v):
        if not is_uint(v) or not 1 <= v <= REVISION_MAX:
            self.bad(path, f"{v!r} is not an unsigned integer in 1..{REVISION_MAX}")

    def supersedes(self, path, v):
        if not isinstance(v, bytes) or len(v) != 32:
            self.bad(path, "is not a byte string of 32 bytes")

    def supersedes_rule(self, body):
        # §6.2: absent when revision is 1, present when it is greater
        rev = body.get("revision")
        if not is_uint(rev):
            return
        if rev == 1 and "supersedes" in body:
            self.bad("body.supersedes", "is present at revision 1")
        if rev > 1 and "supersedes" not in body:
            self.bad("body.supersedes", f"is missing at revision {rev}")

    # -- §6.3 -------------------------------------------------------------------
    def withdrawal(self, body):
        known = set(ACTIVE_REQUIRED) | set(ACTIVE_OPTIONAL) | set(WITHDRAWAL_KEYS)
        for k in body:
            if k not in WITHDRAWAL_KEYS:
                self.bad(f"body.{k}", "is not allowed in a withdrawal" if k in known
                         else "is not a known key")
        for k in WITHDRAWAL_KEYS:
            if k not in body:
                # §6.1: a key every practice body has is missing from the body
                always = k in ("practice_id", *LIFECYCLE_KEYS)
                self.bad("body" if always else f"body.{k}", f"lacks the key {k!r}")
        if "practice_id" in body:
            self.practice_id("body.practice_id", body["practice_id"])
        if "revision" in body:
            self.revision("body.revision", body["revision"])
            if is_uint(body["revision"]) and body["revision"] < 2:
                self.bad("body.revision", "a withdrawal has revision at least 2")
        if "supersedes" in body:
            self.supersedes("body.supersedes", body["supersedes"])
        if "reason" in body:
            self.text("body.reason", body["reason"], 1, SHORT_TEXT_BYTES)
        self.supersedes_rule(body)

    # -- §6.4 / §6.5 -------------------------------------------------------------
    def active(self, body):
        t = self.t
        required = {
            "practice_id": self.practice_id,
            "revision": self.revision,
            "state": None,  # checked in check()
            "licence": self.code(t.spdx, "an SPDX licence id"),
            "title": self.langtext(TITLE_BYTES),
            "summary": self.langtext(LONG_TEXT_BYTES),
            "challenge": self.langtext(LONG_TEXT_BYTES),
            "solution": self.langtext(LONG_TEXT_BYTES),
            "countries": self.countries,
            "sdg_targets": self.sdg_targets,
            "status": self.status,
            "period": self.period,
        }
        optional = {
            "supersedes": self.supersedes,
            "replication_potential": self.langtext(LONG_TEXT_BYTES),
            "lessons": self.langtext(LONG_TEXT_BYTES),
            "organisations": self.organisations,
            "sectors": self.sectors,
            "gov_level": self.enum("national", "subnational", "local"),
            "keywords": lambda p, v: self.array(p, v, lambda q, x: self.text(q, x, 1, KEYWORD_BYTES), 0),
            "urls": lambda p, v: self.array(p, v, self.url, 0),
            "contact": self.contact,
            "exchange": self.enum("offering", "seeking", "none"),
            "recognition": self.recognition,
            "reach": self.reach,
            "evidence_level": self.enum("self_reported", "independent_evaluation"),
            "replaces": self.replaces(body.get("practice_id")),
            "metrics": lambda p, v: self.array(p, v, self.metric, 0),
        }
        if "reason" in body:
            self.bad("body.reason", "is only allowed in a withdrawal")
            optional["reason"] = None  # reported once, not again as unknown
        self.fields("body", body, required, optional, always=("practice_id", *LIFECYCLE_KEYS))
        self.supersedes_rule(body)

    def langtext(self, limit: int):
        """§6.4 LangText: {original, text, machine_translated?}."""
        def f(path, v):
            langs = self.t.languages
            if not self.fields(path, v, {
                "original": self.code(langs, "an ISO 639-1 tag"),
                "text": lambda p, m: self.langtext_text(p, m, limit),
            }, {"machine_translated": None}):  # checked below: needs text and original
                return
            text = v["text"] if isinstance(v.get("text"), dict) else {}
            original = v.get("original")
            if isinstance(original, str) and isinstance(v.get("text"), dict) and original not in text:
                self.bad(f"{path}.text", f"does not contain the original tag {original!r}")
            if "machine_translated" in v:
                mt = v["machine_translated"]
                mpath = f"{path}.machine_translated"

                def tag(p, x):
                    if not isinstance(x, str):
                        self.bad(p, "is not text")
                    elif x not in text:
                        self.bad(p, f"{x!r} is not a tag present in text")
                    elif x == original:
                        self.bad(p, f"{x!r} is the original tag")
                self.array(mpath, mt, tag, 0)
                self.no_duplicates(mpath, mt)
        return f

    def langtext_text(self, path, m, limit):
        if not isinstance(m, dict):
            self.bad(path, "is not a map")
            return
        if not 1 <= len(m) <= LANGUAGES:
            self.bad(path, f"has {len(m)} entries (allowed 1..{LANGUAGES})")
        for k, x in m.items():
            if k not in self.t.languages:
                self.bad(f"{path}.{k}", f"{k!r} is not an ISO 639-1 tag")
            self.text(f"{path}.{k}", x, 1, limit)

    def countries(self, path, v):
        def item(p, x):
            self.fields(p, x, {
                "iso3": self.code(self.t.countries, "an ISO 3166-1 alpha-3 code"),
                "role": self.enum("originating", "adopting", "partner"),
            }, {})
        if self.array(path, v, item, 1):
            if not any(isinstance(x, dict) and x.get("role") == "originating" for x in v):
                self.bad(path, "no country has role originating")
            self.no_duplicates(path, v, lambda x: "pair")

    def sdg_targets(self, path, v):
        if self.array(path, v, self.code(self.t.sdg_targets, "an SDG target"), 1):
            self.no_duplicates(path, v)

    def status(self, path, v):
        if not is_uint(v) or str(v) not in self.t.iati_status:
            self.bad(path, f"{v!r} is not an IATI activity status")

    def date(self, path, v):
        if not isinstance(v, str) or parse_date(v) is None:
            self.bad(path, f"{v!r} is not a date")

    def period(self, path, v):
        if self.fields(path, v, {"start": self.date}, {"end": self.date}):
            s, e = v.get("start"), v.get("end")
            if isinstance(s, str) and isinstance(e, str):
                ds, de = parse_date(s), parse_date(e)
                # §6.4: end does not end before start begins
                if ds and de and de[1] < ds[0]:
                    self.bad(f"{path}.end", f"{e!r} ends before start {s!r} begins")

    def organisations(self, path, v):
        def item(p, x):
            self.fields(p, x, {
                "name": lambda q, y: self.text(q, y, 1, SHORT_TEXT_BYTES),
                "role": self.enum("nominating", "supporting", "implementing", "funding"),
            }, {"iso3": self.code(self.t.countries, "an ISO 3166-1 alpha-3 code")})
        self.array(path, v, item, 0)

    def sectors(self, path, v):
        def item(p, x):
            if not self.fields(p, x, {
                "vocabulary": self.enum("dac5", "cofog"),
                "code": lambda q, y: None if isinstance(y, str) else self.bad(q, "is not text"),
            }, {}):
                return
            voc, code = x.get("vocabulary"), x.get("code")
            if isinstance(code, str):
                if voc == "dac5" and code not in self.t.dac5:
                    self.bad(f"{p}.code", f"{code!r} is not a DAC 5-digit purpose code")
                if voc == "cofog" and code not in self.t.cofog:
                    self.bad(f"{p}.code", f"{code!r} is not a COFOG division or group")
        if self.array(path, v, item, 0):
            self.no_duplicates(path, v, lambda x: "pair")

    def url(self, path, v):
        if not isinstance(v, str):
            self.bad(path, "is not text")
            return
        why = url_problem(v)
        if why:
            self.bad(path, f"{v!r} {why}")

    def contact(self, path, v):
        def email(p, x):
            if not self.text(p, x, 1, SHORT_TEXT_BYTES):
                return
            local, _, domain = x.partition("@")
            if x.count("@") != 1 or not local or "." not in domain or any(_is_ws_or_control(c) for c in x):
                self.bad(p, f"{x!r} is not an email address")
        short = lambda p, x: self.text(p, x, 1, SHORT_TEXT_BYTES)  # noqa: E731
        if self.fields(path, v, {}, {"name": short, "role": short, "email": email}):
            if not v:
                self.bad(path, "has no key")  # (also an empty map, §6.1)

    def recognition(self, path, v):
        def item(p, x):
            self.fields(p, x, {
                "award": lambda q, y: self.text(q, y, 1, SHORT_TEXT_BYTES),
                "year": self.uint_range(YEAR_MIN, YEAR_MAX),
            }, {})
        self.array(path, v, item, 0)

    def reach(self, path, v):
        self.fields(path, v, {"beneficiaries": self.uint_range(0)}, {"as_of": self.date})

    def replaces(self, own_id):
        def f(path, v):
            def item(p, x):
                self.practice_id(p, x)
                if x == own_id:
                    self.bad(p, "is the body's own practice_id")
            self.array(path, v, item, 0)
        return f

    # -- §6.6 -------------------------------------------------------------------
    def metric(self, path, m):
        raw_keys = ("baseline", "after", "unit", "currency", "price_year")
        optional = {
            "sample_n": self.uint_range(1),
            "source": self.url,
            "change_bp": self.change_bp,
            "baseline": self.uint_range(0),
            "after": self.uint_range(0),
            "unit": None,  # below: depends on kind
            "currency": self.code(self.t.currencies, "an ISO 4217 code"),
            "price_year": self.uint_range(YEAR_MIN, YEAR_MAX),
        }
        if not self.fields(path, m, {
            "kind": self.enum("time", "cost", "visits"),
            "stage": self.enum("sps", "digital", "other"),
            "method": self.enum("survey", "admin", "estimate"),
        }, optional):
            return
        has_raw = any(k in m for k in raw_keys)
        if "change_bp" in m:
            # a change as published: none of the raw-value keys (§6.1: a rule
            # between keys of one map is reported at the map's path)
            if has_raw:
                self.bad(path, "has both change_bp and raw values; give one form")
            return
        if not has_raw:
            self.bad(path, "needs either change_bp or baseline, after and unit")
            return
        # raw values: baseline, after, unit all required
        for k in ("baseline", "after", "unit"):
            if k not in m:
                self.bad(f"{path}.{k}", "is missing (a metric has change_bp or baseline, after and unit)")
        if "unit" not in m:
            return
        unit = m["unit"]
        kind = m.get("kind")
        units = {"time": ("minutes", "days"), "cost": ("minor_currency",), "visits": ("count",)}
        # a unit is judged against a valid kind only (a bad kind is its own problem)
        if isinstance(kind, str) and kind in units and (not isinstance(unit, str) or unit not in units[kind]):
            self.bad(f"{path}.unit", f"{unit!r} is not a unit for kind {kind!r}")
        if unit == "minor_currency":
            for k in ("currency", "price_year"):
                if k not in m:
                    self.bad(f"{path}.{k}", "is required with unit minor_currency")
        else:
            for k in ("currency", "price_year"):
                if k in m:
                    self.bad(f"{path}.{k}", f"is not allowed with unit {unit!r}")

    def change_bp(self, path, v):
        if type(v) is not int or not CHANGE_BP_MIN <= v <= CHANGE_BP_MAX:
            self.bad(path, f"{v!r} is not an integer in {CHANGE_BP_MIN}..{CHANGE_BP_MAX}")


# ---------------------------------------------------------------------------
# §6b The adoption body, §6c The seeking body
#
# Both are chained kinds (§6b.1): an id of the practice_id syntax, revision,
# supersedes, state; a withdrawal has exactly id, revision (>= 2), supersedes,
# state and reason. They reuse the field checks of §6 (LangText, period,
# metrics, organisations, sectors, contact, urls), as the tables say.
# ---------------------------------------------------------------------------

PLACE_BYTES = 128                                      # §9
MEMBER_ID_RE = re.compile(r"[a-z][a-z0-9\-]{0,31}")    # spec/membership.md §2.2
ADOPTION_STAGES = ("exploring", "piloting", "scaled", "discontinued")


class KindSchema(PracticeSchema):
    """The rules every chained kind other than practice shares (§6b.1)."""

    ID_KEY = ""
    ACTIVE_KEYS: tuple[str, ...] = ()  # every key of an active body, for the withdrawal rule

    def check(self, body) -> list[str]:
        self.problems = []
        self.paths = []
        if not isinstance(body, dict):
            self.bad("body", "is not a map")
            return self.problems
        self.no_empty(body, "body")  # §6.1 holds for every known kind
        state = body.get("state")
        if "state" in body and state not in ("active", "withdrawn"):
            self.bad("body.state", f"{state!r} is not \"active\" or \"withdrawn\"")
            self.lifecycle(body)  # which other keys are allowed depends on the state
        elif state == "withdrawn":
            self.withdrawal(body)
        else:
            self.active(body)
        return self.problems

    def id_text(self, path, v):
        if not isinstance(v, str) or not PRACTICE_ID_RE.fullmatch(v):
            self.bad(path, f"{v!r} is not an id (the syntax of practice_id)")

    def lifecycle(self, body):
        for k in (self.ID_KEY, *LIFECYCLE_KEYS):
            if k not in body:
                self.bad("body", f"lacks the key {k!r}")
        if self.ID_KEY in body:
            self.id_text(f"body.{self.ID_KEY}", body[self.ID_KEY])
        if "revision" in body:
            self.revision("body.revision", body["revision"])
        if "supersedes" in body:
            self.supersedes("body.supersedes", body["supersedes"])
        self.supersedes_rule(body)

    def withdrawal(self, body):
        allowed = (self.ID_KEY, "revision", "supersedes", "state", "reason")
        for k in body:
            if k not in allowed:
                self.bad(f"body.{k}", "is not allowed in a withdrawal" if k in self.ACTIVE_KEYS
                         else "is not a known key")
        self.lifecycle(body)
        if "reason" not in body:
            self.bad("body.reason", "is required in a withdrawal")
        else:
            self.text("body.reason", body["reason"], 1, SHORT_TEXT_BYTES)
        if is_uint(body.get("revision")) and body["revision"] == 1:
            self.bad("body.revision", "a withdrawal follows an earlier revision, so it is at least 2")

    def active(self, body):
        if "reason" in body:
            self.bad("body.reason", "is only allowed in a withdrawal")
        required, optional = self.active_fields(body)
        optional = {**optional, "reason": None, "supersedes": None, self.ID_KEY: None,
                    "revision": None, "state": None}
        # the id, revision and state are checked (and reported missing) by lifecycle()
        self.fields("body", body, required, optional, always=())
        self.lifecycle(body)

    def active_fields(self, body) -> tuple[dict, dict]:
        raise NotImplementedError

    # shared optional fields
    def list_of_text(self, limit):
        return lambda p, v: self.array(p, v, lambda q, x: self.text(q, x, 1, limit), 0)

    def language_list(self, path, v):
        def item(p, x):
            if not isinstance(x, str) or x not in self.t.languages:
                self.bad(p, f"{x!r} is not an ISO 639-1 tag")
        if self.array(path, v, item, 0):
            self.no_duplicates(path, v)


class AdoptionSchema(KindSchema):
    """§6b: an adoption report."""

    ID_KEY = "adoption_id"
    ACTIVE_KEYS = ("licence", "practice", "country", "stage", "period", "gov_level", "places",
                   "adaptation", "lessons", "metrics", "organisations", "contact", "urls",
                   "keywords")

    def active_fields(self, body):
        t = self.t
        required = {
            "licence": self.code(t.spdx, "an SPDX licence id"),
            "practice": self.practice_ref,
            "country": self.code(t.countries, "an ISO 3166-1 alpha-3 code"),
            "stage": self.enum(*ADOPTION_STAGES),
            "period": self.period,
            "adaptation": self.langtext(LONG_TEXT_BYTES),
        }
        optional = {
            "gov_level": self.enum("national", "subnational", "local"),
            "places": self.list_of_text(PLACE_BYTES),
            "lessons": self.langtext(LONG_TEXT_BYTES),
            "metrics": lambda p, v: self.array(p, v, self.metric, 0),
            "organisations": self.organisations,
            "contact": self.contact,
            "urls": lambda p, v: self.array(p, v, self.url, 0),
            "keywords": self.list_of_text(KEYWORD_BYTES),
        }
        return required, optional

    def practice_ref(self, path, v):
        """§6b.3: {member | key, practice_id, record?}, exactly one of member and key."""
        def member(p, x):
            if not isinstance(x, str) or not MEMBER_ID_RE.fullmatch(x):
                self.bad(p, f"{x!r} is not a member id")
        if not self.fields(path, v, {"practice_id": self.practice_id},
                           {"member": member, "key": self.supersedes, "record": self.supersedes}):
            return
        has_member, has_key = "member" in v, "key" in v
        if has_member and has_key:
            self.bad(path, "names the publisher both by member and by key")
        elif not has_member and not has_key:
            self.bad(path, "names no publisher: member or key is required")


# §6d / §9
MAX_ATTACHMENT_SIZE_FORMAT = 1 << 40                 # 1 099 511 627 776
MEDIA_TYPE_MIN_BYTES, MEDIA_TYPE_MAX_BYTES = 3, 127
MEDIA_SUBTYPE_BYTES = 100
FILE_NAME_BYTES = 255
MEDIA_TOP_LEVEL_TYPES = ("application", "audio", "font", "image", "model", "text", "video")
MEDIA_SUBTYPE_RE = re.compile(r"[a-z0-9][a-z0-9!#$&\-^_.+]*")
ATTACHMENT_CATEGORIES = ("report", "toolkit", "infographic", "video", "audio", "dataset", "other")


def media_type_problem(s) -> str | None:
    """§6d media_type: `type/subtype`, lowercase ASCII, no parameters, 3-127 bytes,
    type from the list, subtype 1-100 bytes of a-z 0-9 ! # $ & - ^ _ . + starting
    with a letter or digit."""
    if not isinstance(s, str):
        return "is not text"
    n = nbytes(s)
    if not MEDIA_TYPE_MIN_BYTES <= n <= MEDIA_TYPE_MAX_BYTES:
        return f"is {n} bytes (allowed {MEDIA_TYPE_MIN_BYTES}..{MEDIA_TYPE_MAX_BYTES})"
    if ";" in s:
        return f"{s!r} has parameters"
    if not s.isascii() or s != s.lower():
        return f"{s!r} is not lowercase ASCII"
    if s.count("/") != 1:
        return f"{s!r} is not type/subtype"
    top, sub = s.split("/")
    if top not in MEDIA_TOP_LEVEL_TYPES:
        return f"type {top!r} is not one of {', '.join(MEDIA_TOP_LEVEL_TYPES)}"
    if not 1 <= len(sub) <= MEDIA_SUBTYPE_BYTES or not MEDIA_SUBTYPE_RE.fullmatch(sub):
        return f"subtype {sub!r} is not 1-{MEDIA_SUBTYPE_BYTES} of a-z 0-9 ! # $ & - ^ _ . +"
    return None


def file_name_problem(s) -> str | None:
    """§6d file_name: 1-255 bytes, no / \\ NUL or control character (Cc), not . or .."""
    if not isinstance(s, str):
        return "is not text"
    n = nbytes(s)
    if not 1 <= n <= FILE_NAME_BYTES:
        return f"is {n} bytes (allowed 1..{FILE_NAME_BYTES})"
    if s in (".", ".."):
        return f"{s!r} is not a file name"
    if any(c in "/\\" or unicodedata.category(c) == "Cc" for c in s):
        return f"{s!r} holds /, \\ or a control character"
    return None


class AttachmentSchema(KindSchema):
    """§6d: a reference to a file that belongs to a practice or an adoption report."""

    ID_KEY = "attachment_id"
    ACTIVE_KEYS = ("practice", "adoption", "hash", "size", "media_type", "title", "language",
                   "category", "licence", "description", "file_name")

    def active(self, body):
        super().active(body)
        # §6d: exactly one of practice and adoption; both or neither at body.practice
        if ("practice" in body) == ("adoption" in body):
            self.bad("body.practice", "an attachment names exactly one of practice and adoption")

    def active_fields(self, body):
        t = self.t

        def check(problem):
            def f(p, v):
                why = problem(v)
                if why:
                    self.bad(p, why)
            return f
        required = {
            "hash": self.supersedes,  # a byte string of exactly 32 bytes
            "size": self.uint_range(1, MAX_ATTACHMENT_SIZE_FORMAT),
            "media_type": check(media_type_problem),
            "title": self.langtext(TITLE_BYTES),
            "language": self.code(t.languages, "an ISO 639-1 tag"),
            "category": self.enum(*ATTACHMENT_CATEGORIES),
        }
        optional = {
            "practice": self.practice_ref,
            "adoption": self.adoption_ref,
            "licence": self.code(t.spdx, "an SPDX licence id"),  # no default (§6d)
            "description": self.langtext(LONG_TEXT_BYTES),
            "file_name": check(file_name_problem),
        }
        return required, optional

    def practice_ref(self, path, v):
        AdoptionSchema.practice_ref(self, path, v)  # §6b.3, exactly

    def adoption_ref(self, path, v):
        """§6d: {member | key, adoption_id, record?}, exactly one of member and key."""
        def member(p, x):
            if not isinstance(x, str) or not MEMBER_ID_RE.fullmatch(x):
                self.bad(p, f"{x!r} is not a member id")
        if not self.fields(path, v, {"adoption_id": self.id_text},
                           {"member": member, "key": self.supersedes, "record": self.supersedes}):
            return
        has_member, has_key = "member" in v, "key" in v
        if has_member and has_key:
            self.bad(path, "names the publisher both by member and by key")
        elif not has_member and not has_key:
            self.bad(path, "names no publisher: member or key is required")


class SeekingSchema(KindSchema):
    """§6c: a need."""

    ID_KEY = "seeking_id"
    ACTIVE_KEYS = ("licence", "country", "title", "challenge", "sdg_targets", "sectors",
                   "gov_level", "languages", "deadline", "keywords", "contact", "urls")

    def active_fields(self, body):
        t = self.t

        def sdg_targets(p, v):
            if self.array(p, v, self.code(t.sdg_targets, "an SDG target"), 0):
                self.no_duplicates(p, v)
        required = {
            "licence": self.code(t.spdx, "an SPDX licence id"),
            "country": self.code(t.countries, "an ISO 3166-1 alpha-3 code"),
            "title": self.langtext(TITLE_BYTES),
            "challenge": self.langtext(LONG_TEXT_BYTES),
        }
        optional = {
            "sdg_targets": sdg_targets,
            "sectors": self.sectors,
            "gov_level": self.enum("national", "subnational", "local"),
            "languages": self.language_list,
            "deadline": self.date,
            "keywords": self.list_of_text(KEYWORD_BYTES),
            "contact": self.contact,
            "urls": lambda p, v: self.array(p, v, self.url, 0),
        }
        return required, optional


_DEFAULT_SCHEMA: list = []


def _default_schema() -> PracticeSchema:
    if not _DEFAULT_SCHEMA:
        _DEFAULT_SCHEMA.append(PracticeSchema(Tables()))
    return _DEFAULT_SCHEMA[0]


def body_schema(schema, kind: str):
    """The validator of §7 step 8 for `kind`, or None for a kind not known (§3).

    `schema` is a PracticeSchema (as check_membership.py passes it, or None
    when it checks only kinds it knows are not bodies of §6); the other known
    kinds are validated with the same code tables."""
    if kind not in ("practice", "adoption", "seeking", "attachment"):
        return None
    if schema is None:
        schema = _default_schema()
    if kind == "practice":
        return schema
    kinds = schema.__dict__.setdefault("_kinds", {})
    if kind not in kinds:
        cls = {"adoption": AdoptionSchema, "seeking": SeekingSchema,
               "attachment": AttachmentSchema}.get(kind)
        kinds[kind] = cls(schema.t) if cls else None
    return kinds[kind]


# ---------------------------------------------------------------------------
# §3 Envelope
# ---------------------------------------------------------------------------
ENVELOPE_KEYS = ("v", "ts", "seq", "body", "kind", "author")


def envelope_problem(env) -> str | None:
    if not isinstance(env, dict):
        return "the envelope is not a map"
    missing = [k for k in ENVELOPE_KEYS if k not in env]
    extra = [k for k in env if k not in ENVELOPE_KEYS]
    if missing:
        return f"missing key(s) {missing}"
    if extra:
        return f"extra key(s) {extra}"
    if not is_uint(env["v"]) or env["v"] != 1:
        return f"v is {env['v']!r}, not 1"
    kind = env["kind"]
    if not isinstance(kind, str) or not KIND_RE.fullmatch(kind):
        return f"kind {kind!r} is not 1-32 bytes of a-z 0-9 _ - starting with a-z"
    if not isinstance(env["author"], bytes) or len(env["author"]) != 32:
        return "author is not a 32-byte byte string"
    if not is_uint(env["seq"]) or env["seq"] < 1:
        return f"seq is {env['seq']!r}, not an unsigned integer >= 1"
    if not is_uint(env["ts"]):
        return f"ts is {env['ts']!r}, not an unsigned integer"
    if not isinstance(env["body"], dict):
        return "body is not a map"
    return None


# ---------------------------------------------------------------------------
# §7 Checking a record
# ---------------------------------------------------------------------------


class Verdict:
    def __init__(self, reason: str | None, detail: str = "", envelope=None, paths=()):
        self.reason = reason  # None: accepted
        self.detail = detail
        self.envelope = envelope
        self.paths = list(paths)  # for `schema`: the path of each problem (§6.1)


def check_record(rec: bytes, schema: PracticeSchema) -> Verdict:
    # step 1
    if len(rec) > MAX_RECORD_BYTES:
        return Verdict("size", f"{len(rec)} bytes > {MAX_RECORD_BYTES}")
    # step 2
    try:
        outer, nc = decode(rec)
    except CborFault as e:
        return Verdict("cbor", f"signed record: {e}")
    if nc:
        return Verdict("noncanonical", f"signed record: {nc[0]}")
    # step 3
    if not (isinstance(outer, list) and len(outer) == 2
            and all(isinstance(x, bytes) for x in outer) and len(outer[1]) == SIGNATURE_BYTES):
        return Verdict("envelope", "signed record is not [bstr envelope, bstr 64-byte sig]")
    env_bytes, sig = outer
    # step 4
    try:
        env, nc = decode(env_bytes)
    except CborFault as e:
        return Verdict("cbor", f"envelope: {e}")
    if nc:
        return Verdict("noncanonical", f"envelope: {nc[0]}")
    # step 5
    why = envelope_problem(env)
    if why:
        return Verdict("envelope", why)
    # step 6
    why = check_key(env["author"])
    if why:
        return Verdict("key", why)
    # step 7
    msg = SIGN_CONTEXT + hashlib.sha256(env_bytes).digest()
    why = check_signature(env["author"], msg, sig)
    if why:
        return Verdict("signature", why)
    # step 8: practice (§6), adoption (§6b), seeking (§6c), attachment (§6d)
    validator = body_schema(schema, env["kind"])
    if validator is not None:
        problems = validator.check(env["body"])
        if problems:
            return Verdict("schema", "; ".join(problems[:3]) + (" …" if len(problems) > 3 else ""),
                           paths=validator.paths)
        return Verdict(None, "", env)
    return Verdict(None, f"unknown kind {env['kind']!r}: only envelope and signature checked", env)


# ---------------------------------------------------------------------------
# §8 JSON form -> CBOR value
# ---------------------------------------------------------------------------


def _no_float(s):
    raise ValueError(f"JSON number {s} has a fraction or exponent (§8)")


def _check_json_value(v):
    if v is None:
        raise ValueError("JSON null has no CBOR form (§8)")
    if isinstance(v, list):
        for x in v:
            _check_json_value(x)
    elif isinstance(v, dict):
        for x in v.values():
            _check_json_value(x)


def lower_hex(s: str) -> bytes:
    """§8: hex in the JSON form is lowercase; uppercase is refused."""
    if s != s.lower():
        raise ValueError(f"hex must be lowercase: {s[:20]!r}")
    return bytes.fromhex(s)


# §8: the byte-string fields of each known kind's body, as paths of keys
BYTE_FIELDS = {
    "practice": [("supersedes",)],
    "adoption": [("supersedes",), ("practice", "key"), ("practice", "record")],
    "seeking": [("supersedes",)],
    "attachment": [("supersedes",), ("hash",), ("practice", "key"), ("practice", "record"),
                   ("adoption", "key"), ("adoption", "record")],
}


def envelope_from_json(j: dict) -> dict:
    """§8: author and the byte-string fields of a known kind's body, hex -> bytes;
    the rest as is."""
    j = json.loads(json.dumps(j), parse_float=_no_float, parse_constant=_no_float)
    _check_json_value(j)
    env = dict(j)
    env["author"] = lower_hex(env["author"])
    for keys in BYTE_FIELDS.get(env.get("kind"), []):
        m = env.get("body")
        for k in keys[:-1]:
            m = m.get(k) if isinstance(m, dict) else None
        if isinstance(m, dict) and isinstance(m.get(keys[-1]), str):
            m[keys[-1]] = lower_hex(m[keys[-1]])
    return env


# ---------------------------------------------------------------------------
# §11 Test vectors
# ---------------------------------------------------------------------------


def run_valid(v: dict, schema: PracticeSchema) -> list[str]:
    """Returns the list of failures (empty when the vector passes)."""
    fails = []
    rec = bytes.fromhex(v["signed_record"])
    env_cbor = bytes.fromhex(v["envelope_cbor"])
    sig = bytes.fromhex(v["signature"])
    verdict = check_record(rec, schema)
    if verdict.reason is not None:
        fails.append(f"expected accept, got {verdict.reason} ({verdict.detail})")
    if hashlib.sha256(env_cbor).hexdigest() != v["id"]:
        fails.append("id != SHA-256(envelope_cbor)")
    # reproduce envelope_cbor from envelope_json (§8, §2.2)
    try:
        env = envelope_from_json(v["envelope_json"])
        mine = encode(env)
    except ValueError as e:
        fails.append(f"envelope_json does not encode: {e}")
        return fails
    if mine != env_cbor:
        at = next((i for i, (x, y) in enumerate(zip(mine, env_cbor)) if x != y),
                  min(len(mine), len(env_cbor)))
        fails.append(f"re-encoded envelope differs from byte {at}: "
                     f"...{mine[at:at + 8].hex()} != ...{env_cbor[at:at + 8].hex()}")
    if hashlib.sha256(mine).hexdigest() != v["id"]:
        fails.append("recomputed id differs")
    seed = bytes.fromhex(v["secret_key"])
    sk = nacl.signing.SigningKey(seed)
    if bytes(sk.verify_key) != env["author"]:
        fails.append("author is not the public key of secret_key")
    # §4: signed_record = canonical [bstr envelope_bytes, bstr sig]
    if encode([env_cbor, sig]) != rec:
        fails.append("signed_record != canonical [envelope_cbor, signature]")
    msg = SIGN_CONTEXT + hashlib.sha256(env_cbor).digest()
    if v.get("rfc8032_signature", True) is not False:
        my_sig = sk.sign(msg).signature
        if my_sig != sig:
            fails.append(f"re-signed signature differs: {my_sig.hex()}")
        if encode([mine, my_sig]) != rec:
            fails.append("re-built signed_record differs")
        # cross-check: libsodium (cofactorless, strict) agrees on an ordinary signature
        try:
            sk.verify_key.verify(msg, sig)
        except nacl.exceptions.BadSignatureError:
            fails.append("PyNaCl refuses an RFC 8032 signature that this checker accepts")
    else:
        # §11/§12: not reproducible; valid only under the cofactored equation
        if check_signature(env["author"], msg, sig, cofactored=False) is None:
            fails.append("signature also satisfies the cofactorless equation (§12 says it should not)")
        try:
            sk.verify_key.verify(msg, sig)
            fails.append("PyNaCl (libsodium) accepts it, but §12 says cofactorless verifiers refuse it")
        except nacl.exceptions.BadSignatureError:
            pass
    return fails


SEED_01 = bytes([1]) * 32


def run_invalid(v: dict, schema: PracticeSchema) -> list[str]:
    fails = []
    rec = bytes.fromhex(v["signed_record"])
    verdict = check_record(rec, schema)
    if verdict.reason != v["reason"]:
        got = "accept" if verdict.reason is None else verdict.reason
        fails.append(f"expected {v['reason']}, got {got} ({verdict.detail})")
    elif "paths" in v and sorted(set(verdict.paths)) != sorted(set(v["paths"])):
        # §11: the paths of the problems, compared as a set (§6.1)
        fails.append(f"expected problems at {v['paths']}, got {verdict.paths} ({verdict.detail})")
    # §11: vectors whose fault is not the key, the signature or the shape of the
    # array carry a correct signature by seed 01 x 32 over their envelope bytes.
    # Checked where the outer array decodes to a pair (not for outer-level faults).
    if v["reason"] not in ("key", "signature"):
        try:
            outer, nc = decode(rec)
        except CborFault:
            outer = None
        if (outer is not None and isinstance(outer, list) and len(outer) == 2
                and all(isinstance(x, bytes) for x in outer) and len(outer[1]) == 64):
            a = bytes(nacl.signing.SigningKey(SEED_01).verify_key)
            msg = SIGN_CONTEXT + hashlib.sha256(outer[0]).digest()
            if check_signature(a, msg, outer[1]) is not None:
                fails.append("not signed by seed 01 x 32 over its envelope bytes (§11)")
    return fails


# ---------------------------------------------------------------------------
# spec/net.md §4 and §9: the frames of the sync protocol (versions 1 and 2)
# and the gossip announcement, written from spec/net.md alone (with the
# varint of spec/sync.md §1 that it cites). Decoders return the `decoded`
# form of §9; a refusal raises NetFault with the vector's error or field.
# ---------------------------------------------------------------------------

NET_VECTORS = REPO_ROOT / "spec" / "vectors" / "net.json"

NET_LIMITS = {  # §8.3, as §9's "limits" names them
    "max_frame_bytes": 4_718_592,
    "max_message_bytes": 524_288,
    "max_push_records": 256,
    "max_record_bytes": 262_144,
    "max_reason_bytes": 256,
    "max_fetch_ids": 256,
    "max_offer_ids": 256,
}
MAX_MESSAGE_BYTES = NET_LIMITS["max_message_bytes"]
MAX_PUSH_RECORDS = NET_LIMITS["max_push_records"]
MAX_FETCH_IDS = NET_LIMITS["max_fetch_ids"]
MAX_OFFER_IDS = NET_LIMITS["max_offer_ids"]
MAX_REASON_BYTES = NET_LIMITS["max_reason_bytes"]
BULK_MAX_ITEMS, BULK_MAX_BYTES = 4_096, 4_194_304        # §4.4
U64_MAX = (1 << 64) - 1

# §4.2: the tag sets, one per direction
REQUEST_TAGS = {0x10: "sync", 0x02: "bulk", 0x12: "push", 0x14: "fetch",
                0x16: "offer"}
RESPONSE_TAGS = {0x11: "sync", 0x03: "bulk", 0x13: "push_ack",
                 0x15: "records", 0x17: "want", 0x1F: "refused"}
ANNOUNCE_TAG = 0x20
REFUSAL_CODES = {1: "malformed", 2: "busy", 3: "sessions",
                 4: "unknown_session", 5: "internal"}       # §4.9


class NetFault(Exception):
    """A refused frame: `error` is empty | tag | bulk, or `field` a §4.11 name."""

    def __init__(self, error: str | None = None, field: str | None = None):
        super().__init__(error or field)
        self.error, self.field = error, field


class _Frame:
    def __init__(self, data: bytes, start: int = 1):
        self.b, self.pos = data, start

    def left(self) -> int:
        return len(self.b) - self.pos

    def varint(self, field: str) -> int:
        """§1: unsigned LEB128, shortest form, at most 10 bytes."""
        v = 0
        for i in range(10):
            if self.pos >= len(self.b):
                raise NetFault(field=field)
            x = self.b[self.pos]
            self.pos += 1
            v |= (x & 0x7F) << (7 * i)
            if x & 0x80 == 0:
                if x == 0 and i > 0:
                    raise NetFault(field=field)
                return v
        raise NetFault(field=field)

    def u64(self, field: str) -> int:
        v = self.varint(field)
        if v > U64_MAX:
            raise NetFault(field=field)
        return v

    def take(self, n: int, field: str) -> bytes:
        if self.left() < n:
            raise NetFault(field=field)
        out = self.b[self.pos:self.pos + n]
        self.pos += n
        return out

    def rest(self) -> bytes:
        out = self.b[self.pos:]
        self.pos = len(self.b)
        return out

    def end(self, field: str = "frame"):
        if self.left():
            raise NetFault(field=field)


def _net_varint(v: int) -> bytes:
    out = bytearray()
    while True:
        x = v & 0x7F
        v >>= 7
        if v:
            out.append(x | 0x80)
        else:
            out.append(x)
            return bytes(out)


def _records_field(r: _Frame) -> list[str]:
    """§4.5, §4.8: varint(n) ‖ n × (varint(len) ‖ record); n ≤ 256."""
    n = r.varint("records")
    if n > MAX_PUSH_RECORDS:
        raise NetFault(field="records")
    out = []
    for _ in range(n):
        ln = r.varint("record length")
        if ln > MAX_RECORD_BYTES:
            raise NetFault(field="record length")
        out.append(r.take(ln, "record").hex())
    r.end()
    return out


def _ids_field(r: _Frame, lo: int, hi: int) -> list[str]:
    """§4.7, §4.12, §4.13: varint(n) ‖ n × 32-byte id, lo ≤ n ≤ hi."""
    n = r.varint("ids")
    if not lo <= n <= hi:
        raise NetFault(field="ids")
    ids = [r.take(32, "id").hex() for _ in range(n)]
    r.end()
    return ids


def _msg_field(r: _Frame) -> str:
    """§4.3: every byte after count, 1 to 524 288 bytes."""
    msg = r.rest()
    if not 1 <= len(msg) <= MAX_MESSAGE_BYTES:
        raise NetFault(field="msg")
    return msg.hex()


# §4.4, bulk messages: refused as `bulk` (the frame layer accepts them)

def _bound(r: _Frame):
    try:
        v = r.varint("bound")
        if v == 0:
            return None                                   # infinity
        if v - 1 > U64_MAX:
            raise NetFault(error="bulk")
        ln = r.take(1, "bound")[0]
        if ln > 32:
            raise NetFault(error="bulk")
        return {"ts": v - 1, "prefix": r.take(ln, "bound").hex()}
    except NetFault as e:
        raise NetFault(error="bulk") from e


def _bulk_request(data: bytes) -> dict:
    r = _Frame(data)
    after = _bound(r)
    try:
        max_items, max_bytes = r.varint("bulk"), r.varint("bulk")
        r.end()
    except NetFault as e:
        raise NetFault(error="bulk") from e
    if not (1 <= max_items <= BULK_MAX_ITEMS and 1 <= max_bytes <= BULK_MAX_BYTES):
        raise NetFault(error="bulk")
    return {"type": "bulk", "after": after, "max_items": max_items,
            "max_bytes": max_bytes}


def _bulk_batch(data: bytes, max_items=BULK_MAX_ITEMS, max_bytes=BULK_MAX_BYTES) -> dict:
    """§9: batches are checked against a request with the largest limits."""
    r = _Frame(data)
    try:
        n = r.varint("bulk")
        if n > max_items:
            raise NetFault(error="bulk")
        records, total = [], 0
        for _ in range(n):
            ln = r.varint("bulk")
            total += ln
            if ln > MAX_RECORD_BYTES or total > max_bytes + MAX_RECORD_BYTES:
                raise NetFault(error="bulk")
            records.append(r.take(ln, "bulk").hex())
    except NetFault as e:
        raise NetFault(error="bulk") from e
    nxt = _bound(r)
    if r.left():
        raise NetFault(error="bulk")
    return {"type": "bulk", "records": records, "next": nxt}


def decode_request(data: bytes) -> dict:
    if not data:
        raise NetFault(error="empty")
    kind = REQUEST_TAGS.get(data[0])
    if kind is None:
        raise NetFault(error="tag")
    r = _Frame(data)
    if kind == "sync":
        session, count = r.u64("session"), r.u64("count")
        return {"type": "sync", "session": session, "count": count,
                "msg": _msg_field(r)}
    if kind == "bulk":
        return _bulk_request(data)
    if kind == "push":
        return {"type": "push", "records": _records_field(r)}
    if kind == "fetch":
        return {"type": "fetch", "ids": _ids_field(r, 1, MAX_FETCH_IDS)}
    return {"type": "offer", "ids": _ids_field(r, 1, MAX_OFFER_IDS)}


def decode_response(data: bytes) -> dict:
    if not data:
        raise NetFault(error="empty")
    kind = RESPONSE_TAGS.get(data[0])
    if kind is None:
        raise NetFault(error="tag")
    r = _Frame(data)
    if kind == "sync":
        count = r.u64("count")
        return {"type": "sync", "count": count, "msg": _msg_field(r)}
    if kind == "bulk":
        return _bulk_batch(data)
    if kind == "push_ack":
        stored, refused = r.u64("stored"), r.u64("refused")
        r.end()
        return {"type": "push_ack", "stored": stored, "refused": refused}
    if kind == "records":
        return {"type": "records", "records": _records_field(r)}
    if kind == "want":
        return {"type": "want", "ids": _ids_field(r, 0, MAX_OFFER_IDS)}
    code = r.varint("code")
    if code not in REFUSAL_CODES:
        raise NetFault(field="code")
    raw = r.rest()
    if len(raw) > MAX_REASON_BYTES:
        raise NetFault(field="reason")
    try:
        reason = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise NetFault(field="reason") from e
    return {"type": "refused", "code": code, "code_name": REFUSAL_CODES[code],
            "reason": reason}


def decode_announcement(data: bytes) -> dict:
    """§4.10: 0x20 ‖ id ‖ varint(ts) ‖ varint(size), size 1 to 262 144."""
    if not data:
        raise NetFault(error="empty")
    if data[0] != ANNOUNCE_TAG:
        raise NetFault(error="tag")
    r = _Frame(data)
    aid = r.take(32, "id").hex()
    ts = r.u64("ts")
    size = r.u64("size")
    if not 1 <= size <= MAX_RECORD_BYTES:
        raise NetFault(field="size")
    r.end()
    return {"type": "announcement", "id": aid, "ts": ts, "size": size,
            "message_id": hashlib.sha256(data).digest()[:20].hex()}


def _enc_bound(b) -> bytes:
    if b is None:
        return _net_varint(0)
    prefix = bytes.fromhex(b["prefix"])
    return _net_varint(1 + b["ts"]) + bytes([len(prefix)]) + prefix


def _enc_records(recs: list[str]) -> bytes:
    out = _net_varint(len(recs))
    for h in recs:
        rec = bytes.fromhex(h)
        out += _net_varint(len(rec)) + rec
    return out


def _enc_ids(ids: list[str]) -> bytes:
    return _net_varint(len(ids)) + b"".join(bytes.fromhex(i) for i in ids)


def encode_frame(kind: str, d: dict) -> bytes:
    """The bytes of a `decoded` value (§4.2, §4.4, §4.10)."""
    t = d["type"]
    if kind == "announcement":
        return (bytes([ANNOUNCE_TAG]) + bytes.fromhex(d["id"]) + _net_varint(d["ts"])
                + _net_varint(d["size"]))
    if t == "sync":
        head = bytes([0x10]) + _net_varint(d["session"]) if kind == "request" else bytes([0x11])
        return head + _net_varint(d["count"]) + bytes.fromhex(d["msg"])
    if t == "bulk" and kind == "request":
        return (bytes([0x02]) + _enc_bound(d["after"]) + _net_varint(d["max_items"])
                + _net_varint(d["max_bytes"]))
    if t == "bulk":
        return bytes([0x03]) + _enc_records(d["records"]) + _enc_bound(d["next"])
    if t in ("push", "records"):
        return bytes([0x12 if t == "push" else 0x15]) + _enc_records(d["records"])
    if t in ("fetch", "offer", "want"):
        return bytes([{"fetch": 0x14, "offer": 0x16, "want": 0x17}[t]]) + _enc_ids(d["ids"])
    if t == "push_ack":
        return bytes([0x13]) + _net_varint(d["stored"]) + _net_varint(d["refused"])
    if t == "refused":
        reason = d["reason"].encode("utf-8")
        if len(reason) > MAX_REASON_BYTES:   # §4.9: cut at a character boundary
            reason = reason[:MAX_REASON_BYTES]
            while reason and (reason[-1] & 0xC0) == 0x80:
                reason = reason[:-1]
            reason = reason.decode("utf-8", errors="ignore").encode("utf-8")
        return bytes([0x1F]) + _net_varint(d["code"]) + reason
    raise ValueError(f"unknown type {t}")


_NET_DECODERS = {"request": decode_request, "response": decode_response,
                 "announcement": decode_announcement}


def run_net_vector(v: dict) -> list[str]:
    fails = []
    kind = v["kind"]
    data = bytes.fromhex(v["hex"])
    decoder = _NET_DECODERS.get(kind)
    if decoder is None:
        return [f"unknown kind {kind}"]
    try:
        got, fault = decoder(data), None
    except NetFault as e:
        got, fault = None, e
    if "decoded" in v:
        if fault is not None:
            return [f"refused ({fault.error or fault.field}), expected valid"]
        if got != v["decoded"]:
            fails.append(f"decoded {got} != {v['decoded']}")
        try:
            mine = encode_frame(kind, v["decoded"])
        except (KeyError, ValueError) as e:
            return fails + [f"decoded does not encode: {e}"]
        if mine != data:
            fails.append(f"re-encoded {mine.hex()[:40]}… differs")
        return fails
    if fault is None:
        return [f"accepted as {got.get('type')}, expected refused"]
    want = v.get("error_field") or v.get("error")
    got_why = fault.field or fault.error
    if ("error_field" in v and fault.field != v["error_field"]) or \
            ("error" in v and fault.error != v["error"]):
        fails.append(f"refused for {got_why}, expected {want}")
    if "error" in v and v["error"] == "bulk" and data and \
            data[0] not in ({0x02} if kind == "request" else {0x03}):
        fails.append("a bulk vector without a bulk tag")
    return fails


def run_net(path: Path) -> tuple[int, int]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    passed = failed = 0
    limits = doc.get("limits", {})
    if limits != NET_LIMITS:
        failed += 1
        print(f"FAIL net/limits: {limits} != spec/net.md §8.3 {NET_LIMITS}")
    else:
        passed += 1
        print("ok   net/limits")
    for v in doc["vectors"]:
        fails = run_net_vector(v)
        name = f"net/{v['name']}"
        if fails:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(fails))
        else:
            passed += 1
            print(f"ok   {name}")
    return passed, failed


# ---------------------------------------------------------------------------
# Self-test (python3 check_vectors.py --self-test): edge cases of §2 and §5 that
# the vectors do not all exercise. Not needed to check the vectors.
# ---------------------------------------------------------------------------


def _classify(data: bytes) -> str:
    try:
        _, nc = decode(data)
    except CborFault:
        return "cbor"
    return "noncanonical" if nc else "ok"


def self_test() -> int:
    def nest(n):  # n nested empty arrays: 0x81 * (n-1) + 0x80
        return b"\x81" * (n - 1) + b"\x80"
    cases = [
        (b"\x0a", "ok"), (b"\x18\x0a", "noncanonical"), (b"\x19\x00\xff", "noncanonical"),
        (b"\x1b" + (1 << 32).to_bytes(8, "big"), "ok"),
        (b"\x1b" + (5).to_bytes(8, "big"), "noncanonical"),
        (b"\x3b" + ((1 << 63) - 1).to_bytes(8, "big"), "ok"),      # -2^63
        (b"\x3b" + (1 << 63).to_bytes(8, "big"), "cbor"),          # below -2^63
        (b"", "cbor"), (b"\x61", "cbor"), (b"\x19\x01", "cbor"),
        (b"\x1c", "cbor"), (b"\x5e", "cbor"), (b"\x1f", "cbor"), (b"\x3f", "cbor"),
        (b"\xff", "cbor"), (b"\xf4", "ok"), (b"\xf5", "ok"), (b"\xf6", "cbor"), (b"\xf7", "cbor"),
        (b"\xf0", "cbor"), (b"\xf8\x20", "cbor"), (b"\xf8\x14", "cbor"), (b"\xf9\x00\x00", "cbor"),
        (b"\xc1\x01", "cbor"), (b"\x01\x00", "cbor"),
        (b"\x9a\xff\xff\xff\xff", "cbor"),                        # count > remaining
        (b"\x82\x01", "cbor"), (b"\xa1\x61a", "cbor"),
        (b"\xa1\x01\x02", "cbor"),                                # non-text key
        (b"\xa1\x41a\x02", "cbor"),                               # byte-string key
        (b"\x9f\x01\xff", "noncanonical"), (b"\x9f\x01", "cbor"),
        (b"\x5f\x41\x00\xff", "noncanonical"), (b"\x5f\x61a\xff", "cbor"),
        (b"\x7f\x7f\xff\xff", "cbor"),                            # nested indefinite chunk
        (b"\x7f\x61\xc3\x61\xa9\xff", "cbor"),                    # é split across chunks
        (b"\x7f\x62\xc3\xa9\xff", "noncanonical"),
        (b"\x62\xc3\x28", "cbor"), (b"\x63\xed\xa0\x80", "cbor"), # bad UTF-8, surrogate
        (b"\x63e\xcc\x81", "noncanonical"),                       # NFD
        (b"\xa2\x61b\x01\x61a\x02", "noncanonical"), (b"\xa2\x61a\x01\x61a\x02", "noncanonical"),
        (b"\xa2\x61b\x01\x62aa\x02", "ok"), (b"\xa2\x62aa\x01\x61b\x02", "noncanonical"),
        (b"\xbf\x61a\x01\xff", "noncanonical"), (b"\xbf\x61a\xff", "cbor"), (b"\x81\xff", "cbor"),
        (b"\x82\x18\x01\xf6", "cbor"),                            # precedence: nc then cbor
        (b"\x82\xf6\x18\x01", "cbor"),
        (b"\x82\x18\x01\x01\x00", "cbor"),                        # nc then trailing byte
        (nest(16), "ok"), (nest(17), "cbor"),
        (b"\xa1\x61a" + nest(15), "ok"), (b"\xa1\x61a" + nest(16), "cbor"),
    ]
    failed = 0
    for data, want in cases:
        got = _classify(data)
        if got != want:
            failed += 1
            print(f"FAIL decode {data.hex()}: expected {want}, got {got}")
    enc = [({"v": 1, "ts": 2, "seq": 3, "body": {}, "kind": "k", "author": b""},
            "a66176016274730263736571036462" "6f6479a0646b696e64616b66617574686f7240"),
           ([-1, -(1 << 63), (1 << 64) - 1, True, False, "e\u0301"],
            "86203b7fffffffffffffff1bffffffffffffffff" "f5f462c3a9")]
    for value, want in enc:
        if encode(value).hex() != want:
            failed += 1
            print(f"FAIL encode {value!r}: {encode(value).hex()} != {want}")
    # RFC 8032 §7.1 TEST 1 (empty message) through the strict verifier
    a = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    checks = [(check_key(a) is None and check_signature(a, b"", sig) is None, "RFC 8032 TEST 1"),
              (check_signature(a, b"x", sig) is not None, "RFC 8032 TEST 1, other message"),
              (check_key(bytes([1]) + bytes(31)) is not None, "identity key refused"),
              (check_key(bytes([1]) + bytes(30) + b"\x80") is not None, "x = 0 with sign bit"),
              (point_encode(BASE).hex() == "58" + "66" * 31, "base point encoding")]
    for ok, what in checks:
        if not ok:
            failed += 1
            print(f"FAIL {what}")
    body_cases = _body_path_cases()
    schema = PracticeSchema(Tables())
    for kind, body, want in body_cases:
        validator = body_schema(schema, kind)
        validator.check(body)
        if sorted(validator.paths) != sorted(want):
            failed += 1
            print(f"FAIL {kind} body paths: expected {want}, got {validator.paths} ({validator.problems})")
    total = len(cases) + len(enc) + len(checks) + len(body_cases)
    print(f"{total - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def _body_path_cases():
    """§6.1 paths of adoption (§6b), seeking (§6c) and attachment (§6d) bodies with one fault,
    for the conventions no vector reaches: (kind, body, paths)."""
    def lt(text="x"):
        return {"original": "en", "text": {"en": text}}
    adoption = {"adoption_id": "A-1", "revision": 1, "state": "active", "licence": "CC-BY-4.0",
                "practice": {"member": "bd-a2i", "practice_id": "P-1"}, "country": "KEN",
                "stage": "scaled", "period": {"start": "2019"}, "adaptation": lt()}
    seeking = {"seeking_id": "S-1", "revision": 1, "state": "active", "licence": "CC-BY-4.0",
               "country": "NPL", "title": lt(), "challenge": lt()}
    withdrawal = {"adoption_id": "A-1", "revision": 2, "supersedes": bytes(32), "state": "withdrawn",
                  "reason": "gone"}
    attachment = {"attachment_id": "T-1", "revision": 1, "state": "active",
                  "practice": {"member": "bd-a2i", "practice_id": "P-1"}, "hash": bytes(32),
                  "size": 1, "media_type": "application/pdf", "title": lt(), "language": "en",
                  "category": "report"}
    on_adoption = {k: v for k, v in attachment.items() if k != "practice"}
    on_adoption["adoption"] = {"key": bytes(32), "adoption_id": "A-1"}
    a_withdrawal = {"attachment_id": "T-1", "revision": 2, "supersedes": bytes(32),
                    "state": "withdrawn", "reason": "gone"}

    def edit(base, **changes):
        b = copy.deepcopy(base)
        for k, v in changes.items():
            if v is None:
                b.pop(k, None)
            else:
                b[k] = v
        return b
    metric = {"kind": "time", "stage": "sps", "method": "admin"}
    return [
        ("adoption", adoption, []),
        ("adoption", edit(adoption, adoption_id=None), ["body"]),              # an always key
        ("adoption", edit(adoption, stage=None), ["body.stage"]),              # active-only key
        ("adoption", edit(adoption, adaptation={"text": {"en": "x"}}), ["body.adaptation"]),
        ("adoption", edit(adoption, practice={"member": "bd-a2i"}), ["body.practice"]),
        ("adoption", edit(adoption, practice={"key": bytes(32), "practice_id": "P-1",
                                              "record": "00" * 32}), ["body.practice.record"]),
        ("adoption", edit(adoption, metrics=[dict(metric, change_bp=-1, baseline=1)]),
         ["body.metrics[0]"]),
        ("adoption", edit(adoption, metrics=[metric]), ["body.metrics[0]"]),
        ("adoption", edit(adoption, metrics=[dict(metric, baseline=1, after=2)]),
         ["body.metrics[0].unit"]),
        ("adoption", edit(adoption, period={"start": "2020", "end": "2019"}), ["body.period.end"]),
        ("adoption", edit(adoption, reason="x"), ["body.reason"]),
        ("adoption", edit(adoption, revision=2), ["body.supersedes"]),
        ("adoption", edit(adoption, places=["x"] * 65), ["body.places"]),
        ("adoption", edit(adoption, places=[""]), ["body.places[0]"]),
        ("adoption", edit(adoption, contact={"phone": "1"}), ["body.contact.phone"]),
        ("adoption", edit(adoption, state="open"), ["body.state"]),
        ("adoption", withdrawal, []),
        ("adoption", edit(withdrawal, revision=1, supersedes=None), ["body.revision"]),
        ("adoption", edit(withdrawal, reason=None), ["body.reason"]),
        ("adoption", edit(withdrawal, keywords=["x"]), ["body.keywords"]),
        ("seeking", seeking, []),
        ("seeking", edit(seeking, title=None), ["body.title"]),
        ("seeking", edit(seeking, sdg_targets=["16.6", "16.6"]), ["body.sdg_targets[1]"]),
        ("seeking", edit(seeking, languages=["en", "xx"]), ["body.languages[1]"]),
        ("seeking", edit(seeking, sectors=[{"vocabulary": "cofog", "code": "01.3"}] * 2),
         ["body.sectors[1]"]),
        ("seeking", edit(seeking, stage="scaled"), ["body.stage"]),            # another kind's key
        ("attachment", attachment, []),
        ("attachment", on_adoption, []),
        ("attachment", edit(attachment, size=MAX_ATTACHMENT_SIZE_FORMAT, licence="CC0-1.0",
                            file_name="a..b.pdf", description=lt("y" * LONG_TEXT_BYTES),
                            media_type="application/" + "x" * MEDIA_SUBTYPE_BYTES), []),
        ("attachment", edit(attachment, attachment_id=None), ["body"]),        # an always key
        ("attachment", edit(attachment, hash=None), ["body.hash"]),           # active-only key
        ("attachment", edit(attachment, hash="00" * 32), ["body.hash"]),      # hex is not bytes
        ("attachment", edit(attachment, size=-1), ["body.size"]),
        ("attachment", edit(attachment, media_type="application/" + "x" * 101), ["body.media_type"]),
        ("attachment", edit(attachment, media_type="application/.pdf"), ["body.media_type"]),
        ("attachment", edit(attachment, media_type="text"), ["body.media_type"]),
        ("attachment", edit(attachment, media_type="message/rfc822"), ["body.media_type"]),
        ("attachment", edit(attachment, language="EN"), ["body.language"]),
        ("attachment", edit(attachment, file_name=".."), ["body.file_name"]),
        ("attachment", edit(attachment, file_name="a\x85b"), ["body.file_name"]),
        ("attachment", edit(attachment, file_name="x" * 256), ["body.file_name"]),
        ("attachment", edit(attachment, licence="CC-BY"), ["body.licence"]),
        ("attachment", edit(attachment, description=lt("y" * (LONG_TEXT_BYTES + 1))),
         ["body.description.text.en"]),
        ("attachment", edit(on_adoption, adoption={"adoption_id": "A-1"}), ["body.adoption"]),
        ("attachment", edit(on_adoption, adoption={"member": "ke", "key": bytes(32),
                                                   "adoption_id": "A-1"}), ["body.adoption"]),
        ("attachment", edit(on_adoption, adoption={"member": "ke"}), ["body.adoption"]),
        ("attachment", edit(on_adoption, adoption={"member": "KE", "adoption_id": "A-1"}),
         ["body.adoption.member"]),
        ("attachment", edit(on_adoption, adoption={"key": bytes(31), "adoption_id": "A-1"}),
         ["body.adoption.key"]),
        ("attachment", edit(attachment, stage="scaled"), ["body.stage"]),
        ("attachment", a_withdrawal, []),
        ("attachment", edit(a_withdrawal, licence="CC0-1.0"), ["body.licence"]),
        ("attachment", edit(a_withdrawal, revision=1, supersedes=None), ["body.revision"]),
    ]


def run_records(path: Path) -> tuple[int, int]:
    vectors = json.loads(path.read_text(encoding="utf-8"))
    schema = PracticeSchema(Tables())
    passed = failed = 0
    for group, runner in (("valid", run_valid), ("invalid", run_invalid)):
        for v in vectors[group]:
            fails = runner(v, schema)
            name = f"{group}/{v['name']}"
            if fails:
                failed += 1
                print(f"FAIL {name}: " + "; ".join(fails))
            else:
                passed += 1
                print(f"ok   {name}")
    for i, k in enumerate(vectors.get("key_files", [])):
        fails = run_key_file(k)
        name = f"key_files/{i}"
        if fails:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(fails))
        else:
            passed += 1
            print(f"ok   {name}")
    return passed, failed


def main(argv: list[str]) -> int:
    if len(argv) > 1 and argv[1] == "--self-test":
        return self_test()
    # No argument: both vector files. With one: records or net vectors,
    # told apart by their shape (net.json has "vectors", records.json not).
    paths = [Path(argv[1])] if len(argv) > 1 else [DEFAULT_VECTORS, NET_VECTORS]
    passed = failed = 0
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        p, f = run_net(path) if "vectors" in doc else run_records(path)
        passed, failed = passed + p, failed + f
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


# §10: a PKCS#8 v1 PrivateKeyInfo for Ed25519 is this 16-byte DER prefix,
# then the 32-byte seed.
PKCS8_V1_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


def run_key_file(k: dict) -> list[str]:
    import base64
    fails = []
    seed = bytes.fromhex(k["secret_key"])
    lines = k["pkcs8_v1_pem"].strip().splitlines()
    if lines[0] != "-----BEGIN PRIVATE KEY-----" or lines[-1] != "-----END PRIVATE KEY-----":
        fails.append("not a PRIVATE KEY PEM block")
    der = base64.b64decode("".join(lines[1:-1]))
    if der != PKCS8_V1_PREFIX + seed:
        fails.append(f"DER is {der.hex()}, expected prefix + seed")
    pub = nacl.signing.SigningKey(seed).verify_key.encode()
    if pub.hex() != k["public_key"]:
        fails.append("public_key does not match the seed")
    return fails


if __name__ == "__main__":
    sys.exit(main(sys.argv))
