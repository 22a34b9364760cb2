#!/usr/bin/env python3
"""Independent checker for the test vectors of spec/sync.md (Setu reconciliation v1).

Written from spec/sync.md alone, without reading the reference implementation
(crates/setu-sync). It contains:

  * the varint of §1, the items, bounds and separating bound of §2,
  * the fingerprint of §3,
  * a strict decoder and an encoder for the messages of §4, with the refusals of §4,
  * the session of §5: describe (§5.1), processing an entry and settling on full
    ids (§5.2), lists with the shortest unique prefix (§5.3), the split rule (§5.4),
    ending (§5.5), the frame-limit cut (§5.6) and the round limit (§5.7),
  * the vector runner of §9: every case is replayed as a whole session, every
    reply as a single step, plus decoder refusals taken from §4's list.

Usage: python3 spec/tools/check_sync.py [spec/vectors/sync.json]
Prints one line per vector ("ok   NAME" or "FAIL NAME: reason"), then
"N passed, M failed"; exits 0 only if M == 0.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VECTORS = REPO_ROOT / "spec" / "vectors" / "sync.json"

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------
VERSION = 0x01                 # §4: message = 0x01 ‖ entry*
MAX_MESSAGE_BYTES = 524_288    # §4
MAX_ENTRIES = 65_536           # §4
MIN_FRAME_LIMIT = 2_048        # §5.6
LIST_MAX = 32                  # §5.1
IDS_MAX = 32                   # §5.2
DENSE_SPLIT = 16               # §5.4 (also MAX_SPLIT)
SPARSE_SPLIT = 4               # §5.4
MIN_PREFIX = 3                 # §5.3
MAX_ROUNDS = 64                # §5.7
CUT_SPARE = 64                 # §5.6 step 3
U64_MAX = 2**64 - 1
FP_CONTEXT = b"setu/v1/sync/fp"  # §3: 15 ASCII bytes, no terminator

# The configuration §9 says the vectors use.
DEFAULT_CONFIG = {"list_max": LIST_MAX, "dense_split": DENSE_SPLIT,
                  "sparse_split": SPARSE_SPLIT, "min_prefix": MIN_PREFIX,
                  "frame_limit": MAX_MESSAGE_BYTES}

# §4 modes
SKIP, FINGERPRINT, LIST, ANSWER, IDS, IDS_ANSWER = range(6)


class Refused(Exception):
    """A message refused by §4 (malformed) or §5.7 (session limits)."""


# ---------------------------------------------------------------------------
# §1 varint: unsigned LEB128, at most 10 bytes, shortest form, value ≤ 2^64.
# ---------------------------------------------------------------------------
VARINT_MAX = 2**64  # §1 says "value at most 2^64" (read literally: inclusive)


def varint(n: int) -> bytes:
    assert 0 <= n <= VARINT_MAX
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class Reader:
    """A cursor over a message; every read refuses on a missing byte."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, what: str) -> bytes:
        if n > self.remaining():
            raise Refused(f"{what}: {n} bytes needed, {self.remaining()} remain")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def varint(self, what: str) -> int:
        value = shift = 0
        for i in range(10):
            b = self.u8(what)
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                if b == 0 and i > 0:
                    raise Refused(f"{what}: varint not in shortest form")
                if value > VARINT_MAX:
                    raise Refused(f"{what}: varint above 2^64")
                return value
        raise Refused(f"{what}: varint longer than 10 bytes")


# ---------------------------------------------------------------------------
# §2 Items, order, bounds
# ---------------------------------------------------------------------------
# An item is (ts, id) with a 32-byte id; tuples order as §2 says (ts, then id).
# A bound is INF (None) or (ts, prefix) with a prefix of 0..32 bytes.
INF = None
LOWEST = (0, b"")


def pad(prefix: bytes) -> bytes:
    return prefix + bytes(32 - len(prefix))


def bound_position(b) -> tuple:
    """Where a bound cuts the items: an item lies below (ts, p) iff
    (item.ts, item.id) < (ts, p ‖ 0x00…) (§2)."""
    return (1,) if b is INF else (0, b[0], pad(b[1]))


def bound_order(b) -> tuple:
    """The strict order of bounds in a message (§4): padded prefix, then prefix
    length on a tie; infinity above everything."""
    return (1,) if b is INF else (0, b[0], pad(b[1]), len(b[1]))


def separating_bound(a: tuple, b: tuple) -> tuple:
    """§2: the separating bound between items a < b."""
    if a[0] != b[0]:
        return (b[0], b"")
    k = next(i for i in range(32) if a[1][i] != b[1][i])
    return (b[0], b[1][:k + 1])


# ---------------------------------------------------------------------------
# §3 Fingerprint
# ---------------------------------------------------------------------------
def fp(items: list) -> bytes:
    h = hashlib.sha256(FP_CONTEXT + varint(len(items)))
    for _, id_ in items:
        h.update(id_)
    return h.digest()[:16]


# ---------------------------------------------------------------------------
# §4 Messages
# ---------------------------------------------------------------------------
@dataclass
class Entry:
    bound: object           # INF or (ts, prefix)
    mode: int
    count: int = 0          # Fingerprint: count; List/Answer/Ids/IdsAnswer: n
    fp: bytes = b""         # Fingerprint fp, Answer confirm
    width: int = 0          # List: L
    keys: list = field(default_factory=list)  # List prefixes, Ids ids
    bits: list = field(default_factory=list)  # Answer/IdsAnswer: bit i (bools)


def encode_bound(b, prev_ts: int) -> tuple[bytes, int]:
    """§4: varint(0) is infinity, else varint(1 + ts − prev_ts) ‖ u8 len ‖ prefix.
    Returns the bytes and the prev_ts for the next bound."""
    if b is INF:
        return varint(0), prev_ts
    ts, prefix = b
    return varint(1 + ts - prev_ts) + bytes([len(prefix)]) + prefix, ts


def bitmap(bits: list) -> bytes:
    """§4: ⌈n/8⌉ bytes, bit i LSB first; bits past n zero."""
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def encode_payload(e: Entry) -> bytes:
    if e.mode == SKIP:
        return b""
    if e.mode == FINGERPRINT:
        return varint(e.count) + e.fp
    if e.mode == LIST:
        return varint(len(e.keys)) + bytes([e.width]) + b"".join(e.keys)
    if e.mode == ANSWER:
        return varint(len(e.bits)) + bitmap(e.bits) + e.fp
    if e.mode == IDS:
        return varint(len(e.keys)) + b"".join(e.keys)
    if e.mode == IDS_ANSWER:
        return varint(len(e.bits)) + bitmap(e.bits)
    raise ValueError(f"mode {e.mode}")


def encode_entry(e: Entry, prev_ts: int) -> tuple[bytes, int]:
    bound, prev_ts = encode_bound(e.bound, prev_ts)
    return bound + bytes([e.mode]) + encode_payload(e), prev_ts


def encode_message(entries: list) -> bytes:
    out, prev_ts = bytearray([VERSION]), 0
    for e in entries:
        data, prev_ts = encode_entry(e, prev_ts)
        out += data
    return bytes(out)


def decode_bound(r: Reader, prev_ts: int):
    """§4 "Also, exactly": ts = prev_ts + (varint − 1), refused past 2^64 − 1;
    a prefix length above 32 is refused."""
    v = r.varint("bound")
    if v == 0:
        return INF
    ts = prev_ts + (v - 1)
    if ts > U64_MAX:
        raise Refused("bound ts passes 2^64 - 1")
    n = r.u8("bound prefix length")
    if n > 32:
        raise Refused(f"bound prefix length {n} above 32")
    return (ts, r.take(n, "bound prefix"))


def decode_bits(r: Reader, n: int, what: str) -> list:
    """§4: ⌈n/8⌉ bytes must be present; bits past n must be zero."""
    raw = r.take((n + 7) // 8, what)
    bits = [bool(raw[i // 8] >> (i % 8) & 1) for i in range(n)]
    if n % 8 and raw[-1] >> (n % 8):
        raise Refused(f"{what}: bits past n are not zero")
    return bits


def u64_count(r: Reader, what: str) -> int:
    """§4: a Fingerprint count, an Answer's or IdsAnswer's n above 2^64 − 1 is refused."""
    n = r.varint(what)
    if n > U64_MAX:
        raise Refused(f"{what} = 2^64, above 2^64 - 1")
    return n


def decode_payload(r: Reader, bound, mode: int) -> Entry:
    if mode == SKIP:
        return Entry(bound, mode)
    if mode == FINGERPRINT:
        return Entry(bound, mode, count=u64_count(r, "count"), fp=r.take(16, "fp"))
    if mode == LIST:
        n = r.varint("List n")
        width = r.u8("List L")
        if not 1 <= width <= 32:
            raise Refused(f"List L = {width}, not 1 to 32")
        raw = r.take(n * width, "List prefixes")
        keys = [raw[i * width:(i + 1) * width] for i in range(n)]
        return Entry(bound, mode, count=n, width=width, keys=keys)
    if mode == ANSWER:
        n = u64_count(r, "Answer n")
        bits = decode_bits(r, n, "Answer bitmap")
        return Entry(bound, mode, count=n, bits=bits, fp=r.take(16, "Answer confirm"))
    if mode == IDS:
        n = r.varint("Ids n")
        raw = r.take(n * 32, "Ids ids")
        return Entry(bound, mode, count=n, keys=[raw[i * 32:(i + 1) * 32] for i in range(n)])
    if mode == IDS_ANSWER:
        n = u64_count(r, "IdsAnswer n")
        return Entry(bound, mode, count=n, bits=decode_bits(r, n, "IdsAnswer bitmap"))
    raise Refused(f"unknown mode {mode}")


def decode_message(data: bytes) -> list:
    """§4: a message is refused if empty, longer than MAX_MESSAGE_BYTES, of another
    version, with more than MAX_ENTRIES entries, bounds not strictly increasing,
    a last bound other than infinity, or anything after it."""
    if not data:
        raise Refused("empty message")
    if len(data) > MAX_MESSAGE_BYTES:
        raise Refused(f"message of {len(data)} bytes")
    if data[0] != VERSION:
        raise Refused(f"version {data[0]:#04x}")
    r, entries, prev_ts, prev = Reader(data), [], 0, None
    r.pos = 1
    while r.remaining():
        if entries and entries[-1].bound is INF:
            raise Refused("bytes after the infinity bound")
        if len(entries) == MAX_ENTRIES:
            raise Refused(f"more than {MAX_ENTRIES} entries")
        bound = decode_bound(r, prev_ts)
        if prev is not None and bound_order(bound) <= bound_order(prev):
            raise Refused("bounds do not strictly increase")
        prev = bound
        if bound is not INF:
            prev_ts = bound[0]
        entries.append(decode_payload(r, bound, r.u8("mode")))
    if not entries or entries[-1].bound is not INF:
        raise Refused("last bound is not infinity")
    return entries


# ---------------------------------------------------------------------------
# §5 The session
# ---------------------------------------------------------------------------
def split_factor(entries: list, runs: list) -> int:
    """§5.4: F Fingerprint entries, M of them not matching my items: 16 if 2M > F,
    else 4 (F = 0 gives 4)."""
    f = m = 0
    for e, run in zip(entries, runs):
        if e.mode == FINGERPRINT:
            f += 1
            if e.count != len(run) or e.fp != fp(run):
                m += 1
    return DENSE_SPLIT if 2 * m > f else SPARSE_SPLIT


def prefix_width(run: list) -> int:
    """§5.3: the shortest L ≥ 3 for which the first L bytes are pairwise distinct
    (at most 32)."""
    for width in range(MIN_PREFIX, 33):
        if len({id_[:width] for _, id_ in run}) == len(run):
            return width
    return 32


def list_entry(run: list, upper) -> Entry:
    width = prefix_width(run)
    return Entry(upper, LIST, count=len(run), width=width,
                 keys=[id_[:width] for _, id_ in run])


def describe(run: list, upper, factor: int) -> list:
    """§5.1: a List if c ≤ LIST_MAX, else min(f, c) Fingerprints over sub-ranges
    lo + ⌊(j−1)c/f'⌋ … lo + ⌊jc/f'⌋ − 1, each ending at the separating bound
    between its last item and the next, the last ending at U."""
    c = len(run)
    if c <= LIST_MAX:
        return [list_entry(run, upper)]
    parts = min(factor, c)
    out = []
    for j in range(1, parts + 1):
        lo, hi = (j - 1) * c // parts, j * c // parts
        bound = upper if j == parts else separating_bound(run[hi - 1], run[hi])
        sub = run[lo:hi]
        out.append(Entry(bound, FINGERPRINT, count=len(sub), fp=fp(sub)))
    return out


def skip(upper) -> list:
    return [Entry(upper, SKIP)]


class Side:
    """One side of a session: its sorted items, what it gives, and its limits."""

    def __init__(self, items: list, frame_limit: int = MAX_MESSAGE_BYTES):
        self.items = sorted(set(items))                  # §2: ordered, no duplicates
        # §5.6: a limit outside [MIN_FRAME_LIMIT, MAX_MESSAGE_BYTES] uses the nearer one.
        self.frame_limit = min(max(frame_limit, MIN_FRAME_LIMIT), MAX_MESSAGE_BYTES)
        self.gives: set = set()
        self.received = 0
        self.over = False

    # -- §5.1 ---------------------------------------------------------------
    def first_message(self) -> bytes:
        return encode_message(describe(self.items, INF, DENSE_SPLIT))

    # -- ranges -------------------------------------------------------------
    def index(self, bound) -> int:
        """How many of my items lie below the bound (§2)."""
        if bound is INF:
            return len(self.items)
        return bisect.bisect_left(self.items, (bound[0], pad(bound[1])))

    def ranges(self, entries: list) -> list:
        """§4: consecutive ranges, the first from the lowest bound. Returns the
        index of each range's first item and the range's items."""
        out, lo = [], 0
        for e in entries:
            hi = self.index(e.bound)
            out.append((lo, self.items[lo:hi]))
            lo = hi
        return out

    def give(self, items) -> None:
        self.gives.update(id_ for _, id_ in items)

    # -- §5.2 ---------------------------------------------------------------
    def settle(self, run: list, upper, factor: int) -> list:
        """§5.2 settle `run` on full ids: one Ids entry if at most IDS_MAX items,
        else describe it with this message's split factor."""
        if len(run) <= IDS_MAX:
            return [Entry(upper, IDS, count=len(run), keys=[id_ for _, id_ in run])]
        return describe(run, upper, factor)

    def process(self, e: Entry, run: list, factor: int) -> list:
        """§5.2: the reply entries R for one incoming entry over my items `run`."""
        u = e.bound
        if e.mode == SKIP:
            return skip(u)
        if e.mode == FINGERPRINT:
            if e.count == len(run) and e.fp == fp(run):
                return skip(u)
            if e.count == 0:
                self.give(run)
                return skip(u)
            return describe(run, u, factor)
        if e.mode == LIST:
            return self.process_list(e, run, factor)
        if e.mode == ANSWER:
            if len(run) != e.count:
                return self.settle(run, u, factor)
            self.give(item for item, bit in zip(run, e.bits) if bit)
            matched = [item for item, bit in zip(run, e.bits) if not bit]
            return skip(u) if fp(matched) == e.fp else self.settle(run, u, factor)
        if e.mode == IDS:
            mine = {id_ for _, id_ in run}
            theirs = set(e.keys)
            self.give(item for item in run if item[1] not in theirs)
            return [Entry(u, IDS_ANSWER, count=e.count, bits=[k not in mine for k in e.keys])]
        if e.mode == IDS_ANSWER:
            if len(run) != e.count:
                return self.settle(run, u, factor)
            self.give(item for item, bit in zip(run, e.bits) if bit)
            return skip(u)
        raise Refused(f"unknown mode {e.mode}")

    def process_list(self, e: Entry, run: list, factor: int) -> list:
        """§5.2 List: repeated prefixes settle on full ids; else match by the
        first L bytes, give the unmatched, and answer."""
        if len(set(e.keys)) != len(e.keys):
            return self.settle(run, e.bound, factor)
        theirs = set(e.keys)
        matched = [item for item in run if item[1][:e.width] in theirs]
        self.give(item for item in run if item[1][:e.width] not in theirs)
        hit = {item[1][:e.width] for item in matched}
        return [Entry(e.bound, ANSWER, count=e.count,
                      bits=[k not in hit for k in e.keys], fp=fp(matched))]

    # -- §5.6 ---------------------------------------------------------------
    def reply(self, entries: list) -> list:
        """Process a message range by range with the frame-limit cut of §5.6;
        returns the reply entries, consecutive Skips merged (§5)."""
        runs = self.ranges(entries)
        factor = split_factor(entries, [run for _, run in runs])
        out: list = []
        s, p = 1, 0                                       # step 1
        for e, (lo, run) in zip(entries, runs):
            r = self.process(e, run, factor) or skip(e.bound)   # step 2
            add = 0
            for x in r:                                   # Skips counted unmerged
                data, p_next = encode_entry(x, p)
                add, p = add + len(data), p_next
            if s + add + CUT_SPARE > self.frame_limit:    # step 3: stop
                rest = self.items[lo:]
                out.append(Entry(INF, FINGERPRINT, count=len(rest), fp=fp(rest)))
                return out
            for x in r:                                   # step 4
                if x.mode == SKIP and out and out[-1].mode == SKIP:
                    out[-1] = x
                else:
                    out.append(x)
            s += add
        return out

    # -- §5.5, §5.7 -----------------------------------------------------------
    def receive(self, data: bytes, initiator: bool) -> bytes | None:
        """Receive one message. Returns the reply, or None when this side sends
        nothing (§5.5). Raises Refused for §4 and §5.7."""
        if self.over:
            raise Refused("message after the session is over")
        self.received += 1
        if self.received > MAX_ROUNDS:
            self.over = True
            raise Refused("TooManyRounds")
        try:
            entries = decode_message(data)
        except Refused:
            self.over = True
            raise
        out = self.reply(entries)
        if all(x.mode == SKIP for x in out):
            self.over = True
            return None if initiator else encode_message(skip(INF))
        return encode_message(out)


def run_session(a: list, b: list, frame_limit: int) -> tuple[list, Side, Side]:
    """§5/§9: the initiator holds `a`; messages alternate starting with it."""
    init, resp = Side(a, frame_limit), Side(b, frame_limit)
    msg = init.first_message()
    messages = [msg]
    turn = [(resp, False), (init, True)]
    i = 0
    while True:
        side, is_init = turn[i % 2]
        msg = side.receive(msg, is_init)
        if msg is None:
            return messages, init, resp
        messages.append(msg)
        i += 1


# ---------------------------------------------------------------------------
# §9 Vectors
# ---------------------------------------------------------------------------
def items_from(j: list) -> list:
    return [(ts, bytes.fromhex(h)) for ts, h in j]


def ids_out(side: Side) -> list:
    """§9: give lists are sorted, without repeats (sorted by id hex)."""
    return sorted(id_.hex() for id_ in side.gives)


def check_wire(msg_hex: str, limit: int, what: str) -> list:
    data = bytes.fromhex(msg_hex)
    fails = []
    try:
        entries = decode_message(data)
        if encode_message(entries) != data:
            fails.append(f"{what} does not re-encode to itself")
    except Refused as e:
        fails.append(f"{what} refused by the decoder: {e}")
    if len(data) > limit:
        fails.append(f"{what} has {len(data)} bytes, above frame_limit {limit}")
    return fails


def first_difference(mine: list, want: list) -> str:
    for i, (x, y) in enumerate(zip(mine, want)):
        if x != y:
            k = next(j for j in range(min(len(x), len(y)) + 1)
                     if j == min(len(x), len(y)) or x[j] != y[j])
            return (f"message {i} differs at hex offset {k}: "
                    f"got …{x[max(0, k - 8):k + 24]}, want …{y[max(0, k - 8):k + 24]}")
    return f"{len(mine)} messages, want {len(want)}"


def run_case(c: dict) -> list:
    fails = []
    limit = c["frame_limit"]
    for i, m in enumerate(c["messages"]):
        fails += check_wire(m, limit, f"message {i}")
    try:
        msgs, init, resp = run_session(items_from(c["a"]), items_from(c["b"]), limit)
    except Refused as e:
        return fails + [f"session refused: {e}"]
    mine = [m.hex() for m in msgs]
    if mine != c["messages"]:
        fails.append(first_difference(mine, c["messages"]))
    for side, want in ((init, "give_a"), (resp, "give_b")):
        got = ids_out(side)
        if got != c[want]:
            fails.append(f"{want}: got {len(got)} ids, want {len(c[want])}")
    return fails


def run_reply(v: dict) -> list:
    side = Side(items_from(v["items"]))
    try:
        out = side.receive(bytes.fromhex(v["message"]), initiator=False)
        got = out.hex() if out is not None else None
    except Refused:
        got = None
    fails = []
    if got != v["reply"]:
        fails.append(f"reply {got} != {v['reply']}")
    if got is not None:
        fails += check_wire(got, MAX_MESSAGE_BYTES, "reply")
    if ids_out(side) != v["give"]:
        fails.append(f"give {ids_out(side)} != {v['give']}")
    if side.over != v["done"]:
        fails.append(f"done {side.over} != {v['done']}")
    return fails


# ---------------------------------------------------------------------------
# §4 refusals (and acceptances) that the vectors do not carry
# ---------------------------------------------------------------------------
def _bound(ts_delta: int, prefix: bytes = b"") -> bytes:
    return varint(1 + ts_delta) + bytes([len(prefix)]) + prefix


ZERO16 = bytes(16)
INF_SKIP = b"\x00\x00"


def decode_cases() -> list:
    """(name, message, None if valid else a word the refusal must contain)."""
    many_skips = b"".join(_bound(1) + b"\x00" for _ in range(MAX_ENTRIES - 1))
    two = b"\x01" + _bound(7, b"\x01")
    return [
        ("empty message", b"", "empty"),
        ("version byte alone", b"\x01", "infinity"),
        ("version 0x02", b"\x02" + INF_SKIP, "version"),
        ("infinity then Skip", b"\x01" + INF_SKIP, None),
        ("bound ts passes 2^64-1",
         b"\x01" + _bound(5) + b"\x00" + varint(2**64 - 1) + b"\x00\x00" + INF_SKIP, "ts"),
        ("bound ts exactly 2^64-1",
         b"\x01" + _bound(5) + b"\x00" + varint(2**64 - 5) + b"\x00\x00" + INF_SKIP, None),
        ("varint above 2^64", b"\x01" + varint(2**64)[:-1] + b"\x03\x00\x00" + INF_SKIP, "2^64"),
        ("varint of 11 bytes", b"\x01\x81" + b"\x80" * 9 + b"\x00\x00\x00" + INF_SKIP, "10 bytes"),
        ("non-shortest varint", b"\x01\x80\x00\x00", "shortest"),
        ("non-shortest count", b"\x01\x00\x01\x80\x00" + ZERO16, "shortest"),
        ("prefix length 32", b"\x01" + _bound(0, b"\x01" * 32) + b"\x00" + INF_SKIP, None),
        ("prefix length 33", b"\x01" + _bound(0, b"\x01" * 33) + b"\x00" + INF_SKIP, "above 32"),
        ("prefix bytes missing", b"\x01\x01\x05\x01\x02", "bound prefix"),
        ("first bound is the lowest bound", b"\x01" + _bound(0) + b"\x00" + INF_SKIP, None),
        ("(t, 01) twice", two + b"\x00" + _bound(0, b"\x01") + b"\x00" + INF_SKIP, "increase"),
        ("(t, 01) then (t, 01 00)",
         two + b"\x00" + _bound(0, b"\x01\x00") + b"\x00" + INF_SKIP, None),
        ("(t, 01 00) then (t, 01)", b"\x01" + _bound(7, b"\x01\x00") + b"\x00"
         + _bound(0, b"\x01") + b"\x00" + INF_SKIP, "increase"),
        ("lower prefix after higher", b"\x01" + _bound(7, b"\x02") + b"\x00"
         + _bound(0, b"\x01\xff") + b"\x00" + INF_SKIP, "increase"),
        ("last bound not infinity", b"\x01" + _bound(3) + b"\x00", "infinity"),
        ("a byte after infinity", b"\x01" + INF_SKIP + b"\x00", "after the infinity"),
        ("entry after infinity", b"\x01" + INF_SKIP + _bound(3) + b"\x00", "after the infinity"),
        ("unknown mode 6", b"\x01\x00\x06", "mode"),
        ("Fingerprint fp short", b"\x01\x00\x01\x00" + bytes(15), "fp"),
        ("Fingerprint n = 0", b"\x01\x00\x01\x00" + ZERO16, None),
        ("Fingerprint count = 2^64", b"\x01\x00\x01" + varint(2**64) + ZERO16, "2^64"),
        ("Fingerprint count = 2^64 - 1", b"\x01\x00\x01" + varint(2**64 - 1) + ZERO16, None),
        ("List L = 0", b"\x01\x00\x02\x00\x00", "L = 0"),
        ("List L = 33", b"\x01\x00\x02\x00\x21", "L = 33"),
        ("List n = 0", b"\x01\x00\x02\x00\x03", None),
        ("List prefixes missing", b"\x01\x00\x02\x02\x03" + bytes(5), "List prefixes"),
        ("List count past the message", b"\x01\x00\x02" + varint(2**63) + b"\x03", "List prefixes"),
        ("Answer n = 0", b"\x01\x00\x03\x00" + ZERO16, None),
        ("Answer bitmap padding not zero", b"\x01\x00\x03\x03\x08" + ZERO16, "past n"),
        ("Answer bitmap, bit n-1 set", b"\x01\x00\x03\x03\x04" + ZERO16, None),
        ("Answer confirm missing", b"\x01\x00\x03\x03\x04" + bytes(15), "confirm"),
        ("Answer bitmap missing", b"\x01\x00\x03\x09\x01", "bitmap"),
        ("Ids n = 0", b"\x01\x00\x04\x00", None),
        ("Ids ids missing", b"\x01\x00\x04\x02" + bytes(63), "Ids ids"),
        ("IdsAnswer n = 0", b"\x01\x00\x05\x00", None),
        ("IdsAnswer bitmap padding not zero", b"\x01\x00\x05\x09\x00\x02", "past n"),
        ("message over MAX_MESSAGE_BYTES",
         b"\x01\x00\x04" + varint(16_384) + bytes(16_384 * 32), "bytes"),
        (f"{MAX_ENTRIES} entries", b"\x01" + many_skips + INF_SKIP, None),
        (f"{MAX_ENTRIES + 1} entries", b"\x01" + many_skips + _bound(1) + b"\x00" + INF_SKIP,
         "entries"),
    ]


def run_decode_case(data: bytes, reason: str | None) -> list:
    try:
        decode_message(data)
    except Refused as e:
        if reason is None:
            return [f"refused ({e}), expected accepted"]
        return [] if reason in str(e) else [f"refused for '{e}', expected '{reason}'"]
    return [] if reason is None else [f"accepted, expected refused ({reason})"]


def run_session_limits() -> list:
    """§5.7: the 65th received message is refused unread (TooManyRounds), and a
    message after the side's session is over is refused too."""
    fails = []
    side = Side([(1, bytes(32))])
    fresh_fp = b"\x01\x00\x01\x05" + ZERO16   # a mismatched Fingerprint: never all Skip
    for i in range(MAX_ROUNDS):
        side.receive(fresh_fp, initiator=False)
    try:
        side.receive(fresh_fp, initiator=False)
        fails.append("message 65 accepted")
    except Refused:
        pass
    done = Side([])
    done.receive(b"\x01" + INF_SKIP, initiator=False)
    try:
        done.receive(b"\x01" + INF_SKIP, initiator=False)
        fails.append("a message after the side's session is over was accepted")
    except Refused:
        pass
    return fails


# ---------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------
def run_decoding_vector(v: dict) -> list:
    """A `decoding` vector (§9): the message is valid under §4 iff `valid`."""
    try:
        decode_message(bytes.fromhex(v["message"]))
        ok = True
    except Refused:
        ok = False
    return [] if ok == v["valid"] else [f"decoded as valid={ok}, the vector says {v['valid']}"]


def report(name: str, fails: list, tally: list) -> None:
    if fails:
        tally[1] += 1
        print(f"FAIL {name}: " + "; ".join(fails))
    else:
        tally[0] += 1
        print(f"ok   {name}")


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_VECTORS
    doc = json.loads(path.read_text(encoding="utf-8"))
    tally = [0, 0]
    config = doc.get("config", DEFAULT_CONFIG)
    report("config", [] if config == DEFAULT_CONFIG else
           [f"{config} != spec/sync.md §9 {DEFAULT_CONFIG}"], tally)
    for c in doc["cases"]:
        report(f"cases/{c['name']}", run_case(c), tally)
    for v in doc["replies"]:
        report(f"replies/{v['name']}", run_reply(v), tally)
    for v in doc.get("decoding", []):
        report(f"decoding/{v['name']}", run_decoding_vector(v), tally)
    for name, data, reason in decode_cases():
        report(f"decode/{name}", run_decode_case(data, reason), tally)
    report("session/round and end limits", run_session_limits(), tally)
    print(f"{tally[0]} passed, {tally[1]} failed")
    return 0 if tally[1] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
