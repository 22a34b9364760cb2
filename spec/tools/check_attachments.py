#!/usr/bin/env python3
"""Independent checker for the test vectors of spec/attachments.md (Setu attachments v1).

Written from spec/attachments.md (§2, §3, §7) and spec/net.md (§1, §7.4)
alone, without reading the reference implementation (crates/setu-blob), with
the Python standard library only. It contains:

  * the BLAKE3 compression function, in hash mode, from the BLAKE3 paper
    (O'Connor, Aumasson, Neves, Wilcox-O'Hearn, 2020), with its chunk and
    parent chaining values;
  * the blocks, the tree T(0, B) and the chaining values of §2;
  * the encoding of a range of blocks (§3.1) and its verification with a
    stack of expected chaining values (§3.2: verified, corrupt, short,
    trailing);
  * an encoder and a strict decoder for the frames of /setu/N/blob/1
    (spec/net.md §7.4), refusing with the field of its table.

Against spec/vectors/attachments.json it recomputes every content's hash,
every encoding byte for byte (with its length, parent pairs and SHA-256),
verifies every encoding and checks that a flipped byte makes it corrupt, and
encodes and decodes every frame.

Usage: python3 spec/tools/check_attachments.py [spec/vectors/attachments.json]
       python3 spec/tools/check_attachments.py --self-test
Prints one line per vector ("ok   NAME" or "FAIL NAME: reason"), then
"attachments: N of M vectors reproduced"; exits 0 only if N == M.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VECTORS = REPO_ROOT / "spec" / "vectors" / "attachments.json"
SPEC = REPO_ROOT / "spec" / "attachments.md"

# ---------------------------------------------------------------------------
# Constants (spec/attachments.md §2, §3.3, §5; spec/net.md §7.4)
# ---------------------------------------------------------------------------
CHUNK_BYTES = 1024
BLOCK_BYTES = 16_384                 # 16 chunks
MAX_REQUEST_BLOCKS = 64
MAX_RESPONSE_BYTES = 64 * 16_384 + (64 + 128) * 64   # 1 060 864
MAX_FRAME_BYTES = 1 + MAX_RESPONSE_BYTES             # 1 060 865
MAX_HAVE_RANGES = 1024
MAX_REASON_BYTES = 256
MAX_SIZE = 2**40
U64_MAX = 2**64 - 1

LIMITS = {
    "block_bytes": BLOCK_BYTES,
    "max_request_blocks": MAX_REQUEST_BLOCKS,
    "max_response_bytes": MAX_RESPONSE_BYTES,
    "max_frame_bytes": MAX_FRAME_BYTES,
    "max_have_ranges": MAX_HAVE_RANGES,
    "max_reason_bytes": MAX_REASON_BYTES,
    "max_size": MAX_SIZE,
}

# Frame tags (spec/net.md §7.4)
HAVE_REQ, BLOCKS_REQ = 0x40, 0x41
HAVE, BLOCKS, REFUSED = 0x42, 0x43, 0x4F
CODE_NAMES = {1: "not-held", 2: "busy", 3: "denied", 4: "malformed"}

# ---------------------------------------------------------------------------
# BLAKE3 (the BLAKE3 paper §2): the compression function, hash mode only
# ---------------------------------------------------------------------------
IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
      0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
MSG_PERMUTATION = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
CHUNK_START, CHUNK_END, PARENT, ROOT = 1, 2, 4, 8
M32 = 0xFFFFFFFF

# The message word order of each of the 7 rounds: the permutation applied
# 0, 1, …, 6 times.
_SCHEDULE = []
_order = list(range(16))
for _ in range(7):
    _SCHEDULE.append(tuple(_order))
    _order = [_order[p] for p in MSG_PERMUTATION]
del _order


def _g(v: list[int], a: int, b: int, c: int, d: int, x: int, y: int) -> None:
    va, vb, vc, vd = v[a], v[b], v[c], v[d]
    va = (va + vb + x) & M32
    vd ^= va
    vd = ((vd >> 16) | (vd << 16)) & M32
    vc = (vc + vd) & M32
    vb ^= vc
    vb = ((vb >> 12) | (vb << 20)) & M32
    va = (va + vb + y) & M32
    vd ^= va
    vd = ((vd >> 8) | (vd << 24)) & M32
    vc = (vc + vd) & M32
    vb ^= vc
    vb = ((vb >> 7) | (vb << 25)) & M32
    v[a], v[b], v[c], v[d] = va, vb, vc, vd


def compress(h: tuple[int, ...], block: bytes, counter: int, blen: int, flags: int) -> list[int]:
    """The compression function: chaining value h (8 words), a 64-byte block,
    the counter t, the block length b and the flags d. Returns the first 8
    words of the output (a chaining value)."""
    assert len(block) == 64
    m = [int.from_bytes(block[4 * i:4 * i + 4], "little") for i in range(16)]
    v = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
         IV[0], IV[1], IV[2], IV[3],
         counter & M32, (counter >> 32) & M32, blen, flags]
    for s in _SCHEDULE:
        _g(v, 0, 4, 8, 12, m[s[0]], m[s[1]])
        _g(v, 1, 5, 9, 13, m[s[2]], m[s[3]])
        _g(v, 2, 6, 10, 14, m[s[4]], m[s[5]])
        _g(v, 3, 7, 11, 15, m[s[6]], m[s[7]])
        _g(v, 0, 5, 10, 15, m[s[8]], m[s[9]])
        _g(v, 1, 6, 11, 12, m[s[10]], m[s[11]])
        _g(v, 2, 7, 8, 13, m[s[12]], m[s[13]])
        _g(v, 3, 4, 9, 14, m[s[14]], m[s[15]])
    return [v[i] ^ v[i + 8] for i in range(8)]


def words_to_bytes(w: list[int]) -> bytes:
    return b"".join(x.to_bytes(4, "little") for x in w)


def chunk_cv(chunk: bytes, index: int, root: bool) -> bytes:
    """A chunk's CV (the paper §2.4; spec/attachments.md §2.3)."""
    assert len(chunk) <= CHUNK_BYTES
    pieces = [chunk[i:i + 64] for i in range(0, len(chunk), 64)] or [b""]
    h: tuple[int, ...] = IV
    for j, piece in enumerate(pieces):
        flags = 0
        if j == 0:
            flags |= CHUNK_START
        if j == len(pieces) - 1:
            flags |= CHUNK_END
            if root:
                flags |= ROOT
        h = tuple(compress(h, piece.ljust(64, b"\0"), index, len(piece), flags))
    return words_to_bytes(list(h))


def parent_cv(left: bytes, right: bytes, root: bool) -> bytes:
    """A parent's CV (the paper §2.5): one compression of left ‖ right."""
    return words_to_bytes(compress(IV, left + right, 0, 64, PARENT | (ROOT if root else 0)))


def largest_pow2_below(n: int) -> int:
    """The largest power of two strictly less than n (n ≥ 2)."""
    assert n >= 2
    p = 1
    while p * 2 < n:
        p *= 2
    return p


def blocks_of(size: int) -> int:
    """blocks(S) = max(1, ceil(S / 16384)) (§2.1)."""
    return max(1, -(-size // BLOCK_BYTES))


def block_bytes(content: bytes, k: int) -> bytes:
    return content[BLOCK_BYTES * k:BLOCK_BYTES * (k + 1)]


def block_cv(data: bytes, k: int, root: bool) -> bytes:
    """The CV of block k whose bytes are data: the CV of BLAKE3's subtree over
    its chunks (§2.3), with chunk counters 16·k + j, their indices in the
    whole content."""
    chunks = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]
    first = 16 * k

    def sub(a: int, b: int, is_root: bool) -> bytes:
        if b - a == 1:
            return chunk_cv(chunks[a], first + a, is_root)
        q = largest_pow2_below(b - a)
        return parent_cv(sub(a, a + q, False), sub(a + q, b, False), is_root)

    return sub(0, len(chunks), root)


def blake3_plain(data: bytes) -> bytes:
    """BLAKE3(data) as the paper's §5.1.2 incremental hasher computes it, with
    no blocks: chunk CVs pushed on a stack and merged whenever the number of
    chunks so far allows. A cross-check of the tree of §2, which must give the
    same root."""
    chunks = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]
    if len(chunks) == 1:
        return chunk_cv(chunks[0], 0, True)
    stack: list[bytes] = []
    for i, chunk in enumerate(chunks[:-1]):
        cv = chunk_cv(chunk, i, False)
        total = i + 1
        while total & 1 == 0:
            cv = parent_cv(stack.pop(), cv, False)
            total >>= 1
        stack.append(cv)
    cv = chunk_cv(chunks[-1], len(chunks) - 1, False)
    while len(stack) > 1:
        cv = parent_cv(stack.pop(), cv, False)
    return parent_cv(stack.pop(), cv, True)


class Tree:
    """T(0, B) of one content (§2.2), with every node's CV (§2.3)."""

    def __init__(self, content: bytes):
        self.content = content
        self.size = len(content)
        self.blocks = blocks_of(self.size)
        self.cvs: dict[tuple[int, int], bytes] = {}
        self.root = self._cv(0, self.blocks, True)

    def _cv(self, a: int, b: int, root: bool) -> bytes:
        if b - a == 1:
            cv = block_cv(block_bytes(self.content, a), a, root)
        else:
            p = largest_pow2_below(b - a)
            cv = parent_cv(self._cv(a, a + p, False), self._cv(a + p, b, False), root)
        self.cvs[(a, b)] = cv
        return cv

    @functools.lru_cache(maxsize=None)
    def encode(self, s: int, e: int) -> tuple[bytes, int]:
        """The encoding of blocks [s, e) (§3.1) and its number of parent pairs."""
        out = bytearray()
        pairs = 0

        def enc(a: int, b: int) -> None:
            nonlocal pairs
            if b - a == 1:
                out.extend(block_bytes(self.content, a))
                return
            p = largest_pow2_below(b - a)
            out.extend(self.cvs[(a, a + p)] + self.cvs[(a + p, b)])
            pairs += 1
            if a < e and s < a + p:
                enc(a, a + p)
            if a + p < e and s < b:
                enc(a + p, b)

        enc(0, self.blocks)
        return bytes(out), pairs


@functools.lru_cache(maxsize=None)
def verify(h: bytes, size: int, s: int, e: int, encoding: bytes) -> tuple[list[int], str | None, int]:
    """§3.2: walks the tree as enc does with a stack of expected CVs. Returns
    the blocks verified, the fault (None, "corrupt", "short" or "trailing")
    and the parent pairs read and verified."""
    nblocks = blocks_of(size)
    stack = [h]
    pos = 0
    verified: list[int] = []
    pairs = 0

    class Stop(Exception):
        def __init__(self, fault: str):
            self.fault = fault

    def walk(a: int, b: int) -> None:
        nonlocal pos, pairs
        if b - a == 1:
            lo, hi = min(BLOCK_BYTES * a, size), min(BLOCK_BYTES * (a + 1), size)
            n = hi - lo
            if len(encoding) - pos < n:
                raise Stop("short")
            data = encoding[pos:pos + n]
            pos += n
            if block_cv(data, a, nblocks == 1) != stack.pop():
                raise Stop("corrupt")
            verified.append(a)
            return
        if len(encoding) - pos < 64:
            raise Stop("short")
        left, right = encoding[pos:pos + 32], encoding[pos + 32:pos + 64]
        pos += 64
        if parent_cv(left, right, a == 0 and b == nblocks) != stack.pop():
            raise Stop("corrupt")
        pairs += 1
        p = largest_pow2_below(b - a)
        meets_left = a < e and s < a + p
        meets_right = a + p < e and s < b
        if meets_right:
            stack.append(right)
        if meets_left:
            stack.append(left)
        if meets_left:
            walk(a, a + p)
        if meets_right:
            walk(a + p, b)

    try:
        walk(0, nblocks)
    except Stop as stop:
        return verified, stop.fault, pairs
    if pos != len(encoding):
        return verified, "trailing", pairs
    return verified, None, pairs


@functools.lru_cache(maxsize=None)
def tree_of(size: int) -> Tree:
    """The tree of the vectors' content of size bytes, built once."""
    return Tree(content_of(size))


@functools.lru_cache(maxsize=None)
def plain_hash_of(size: int) -> bytes:
    return blake3_plain(content_of(size))


def content_of(size: int) -> bytes:
    """The vectors' content: byte i is i mod 251 (§7)."""
    return bytes(i % 251 for i in range(size))


def expected_ranges(nblocks: int) -> list[tuple[int, int]]:
    """§7: [0, 1), the last block, and [1, 3) where there are 3 blocks; each once."""
    out = [(0, 1)]
    if nblocks > 1:
        out.append((nblocks - 1, nblocks))
    if nblocks >= 3:
        out.append((1, 3))
    return out


# ---------------------------------------------------------------------------
# Frames of /setu/N/blob/1 (spec/net.md §7.4)
# ---------------------------------------------------------------------------
class FrameError(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field


def put_varint(n: int) -> bytes:
    assert 0 <= n <= U64_MAX
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
    def __init__(self, b: bytes):
        self.b = b
        self.pos = 0

    def rest(self) -> bytes:
        return self.b[self.pos:]

    def take(self, n: int, field: str, reason: str) -> bytes:
        if len(self.b) - self.pos < n:
            raise FrameError(field, reason)
        out = self.b[self.pos:self.pos + n]
        self.pos += n
        return out

    def varint(self, field: str) -> int:
        """spec/net.md §1: shortest form, at most 10 bytes; every field here
        is 0 to 2^64 − 1 unless a smaller range is given (§7.4)."""
        v = 0
        for i in range(10):
            if self.pos >= len(self.b):
                raise FrameError(field, "missing")
            byte = self.b[self.pos]
            self.pos += 1
            v |= (byte & 0x7F) << (7 * i)
            if byte & 0x80 == 0:
                if byte == 0 and i > 0:
                    raise FrameError(field, "not in shortest form")
                if v > U64_MAX:
                    raise FrameError(field, "above 2^64 - 1")
                return v
        raise FrameError(field, "longer than 10 bytes")


def encode_frame(d: dict) -> bytes:
    t = d["type"]
    if t == "have_req":
        return bytes([HAVE_REQ]) + bytes.fromhex(d["hash"])
    if t == "blocks_req":
        return bytes([BLOCKS_REQ]) + bytes.fromhex(d["hash"]) + put_varint(d["start"]) + put_varint(d["end"])
    if t == "have":
        ranges = d["ranges"][:MAX_HAVE_RANGES]
        out = bytearray([HAVE]) + put_varint(d["size"]) + put_varint(len(ranges))
        for r in ranges:
            out += put_varint(r["start"]) + put_varint(r["len"])
        return bytes(out)
    if t == "blocks":
        return bytes([BLOCKS]) + bytes.fromhex(d["encoding"])
    if t == "refused":
        reason = d["reason"].encode("utf-8")
        if len(reason) > MAX_REASON_BYTES:
            end = MAX_REASON_BYTES
            while end > 0 and (reason[end] & 0xC0) == 0x80:  # inside a character
                end -= 1
            reason = reason[:end]
        return bytes([REFUSED]) + put_varint(d["code"]) + reason
    raise ValueError(f"unknown frame type {t!r}")


def decode_request(b: bytes) -> dict:
    r = Reader(b)
    tag = r.take(1, "tag", "empty frame")[0]
    if tag == HAVE_REQ:
        h = r.take(32, "hash", "fewer than 32 bytes")
        out = {"type": "have_req", "hash": h.hex()}
    elif tag == BLOCKS_REQ:
        h = r.take(32, "hash", "fewer than 32 bytes")
        start = r.varint("start")
        end = r.varint("end")
        if end <= start or end - start > MAX_REQUEST_BLOCKS:
            raise FrameError("end", "not 1 to 64 blocks after start")
        out = {"type": "blocks_req", "hash": h.hex(), "start": start, "end": end}
    else:
        raise FrameError("tag", "not a request tag")
    if r.rest():
        raise FrameError("frame", "bytes after the last field")
    return out


def decode_response(b: bytes) -> dict:
    if len(b) > MAX_FRAME_BYTES:
        raise FrameError("frame", "over MAX_FRAME_BYTES")
    r = Reader(b)
    tag = r.take(1, "tag", "empty frame")[0]
    if tag == HAVE:
        size = r.varint("size")
        if size > MAX_SIZE:
            raise FrameError("size", "above 2^40")
        n = r.varint("n")
        if n > MAX_HAVE_RANGES:
            raise FrameError("n", "above 1024")
        if size == 0 and n > 0:
            raise FrameError("n", "ranges with size 0")
        ranges = []
        prev_end = None
        for _ in range(n):
            start = r.varint("start")
            length = r.varint("len")
            if length == 0 or start + length > U64_MAX or start + length > blocks_of(size):
                raise FrameError("len", "empty or past the content")
            if prev_end is not None and start <= prev_end:
                raise FrameError("start", "not greater than the previous range's end")
            prev_end = start + length
            ranges.append({"start": start, "len": length})
        if r.rest():
            raise FrameError("frame", "bytes after the last field")
        return {"type": "have", "size": size, "ranges": ranges}
    if tag == BLOCKS:
        return {"type": "blocks", "encoding": r.rest().hex()}
    if tag == REFUSED:
        code = r.varint("code")
        rest = r.rest()
        if len(rest) > MAX_REASON_BYTES:
            raise FrameError("reason", "over 256 bytes")
        try:
            reason = rest.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise FrameError("reason", "not UTF-8") from None
        return {"type": "refused", "code": code,
                "code_name": CODE_NAMES.get(code, "unknown"), "reason": reason}
    raise FrameError("tag", "not a response tag")


def decode_frame(kind: str, b: bytes) -> dict:
    if kind == "request":
        return decode_request(b)
    if kind == "response":
        return decode_response(b)
    raise ValueError(f"unknown kind {kind!r}")


# ---------------------------------------------------------------------------
# The vector runner
# ---------------------------------------------------------------------------
def check_content(c: dict) -> list[tuple[str, str | None]]:
    """One result (name, failure or None) for the content's hash and one per
    encoding."""
    size = c["size"]
    name = f"contents/{size}"
    tree = tree_of(size)
    results: list[tuple[str, str | None]] = []
    problems = []
    if c.get("blocks") != tree.blocks:
        problems.append(f"blocks {c.get('blocks')} != {tree.blocks}")
    if c.get("hash") != tree.root.hex():
        problems.append(f"hash {c.get('hash')} != {tree.root.hex()}")
    if plain_hash_of(size) != tree.root:
        problems.append("the tree's root is not BLAKE3(content) computed without blocks (checker bug)")
    got_ranges = [(e.get("start"), e.get("end")) for e in c.get("encodings", [])]
    if got_ranges != expected_ranges(tree.blocks):
        problems.append(f"ranges {got_ranges} != {expected_ranges(tree.blocks)} (§7)")
    results.append((f"{name}/hash", "; ".join(problems) or None))

    for e in c.get("encodings", []):
        s, end = e.get("start"), e.get("end")
        ename = f"{name}/[{s},{end})"
        problems = []
        if not (isinstance(s, int) and isinstance(end, int) and 0 <= s < end <= tree.blocks
                and end - s <= MAX_REQUEST_BLOCKS):
            results.append((ename, "not a valid range of the content"))
            continue
        want, pairs = tree.encode(s, end)
        try:
            got = bytes.fromhex(e.get("hex", ""))
        except ValueError:
            got = None
            problems.append("hex is not hex")
        if got is not None and got != want:
            at = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                      min(len(got), len(want)))
            problems.append(f"hex differs at byte {at} (lengths {len(got)}, {len(want)})")
        if e.get("length") != len(want):
            problems.append(f"length {e.get('length')} != {len(want)}")
        lo, hi = min(BLOCK_BYTES * s, size), min(BLOCK_BYTES * end, size)
        if len(want) != 64 * pairs + (hi - lo):
            problems.append("64 × P + L does not hold (checker bug)")
        if e.get("parent_pairs") != pairs:
            problems.append(f"parent_pairs {e.get('parent_pairs')} != {pairs}")
        if e.get("sha256") != hashlib.sha256(want).hexdigest():
            problems.append("sha256 differs")
        if got is not None:
            blocks, fault, vpairs = verify(tree.root, size, s, end, got)
            if (blocks, fault) != (list(range(s, end)), None):
                problems.append(f"§3.2: verified {blocks}, fault {fault}")
            elif vpairs != pairs:
                problems.append(f"§3.2 read {vpairs} pairs, not {pairs}")
            for at in sorted({0, len(got) // 2, len(got) - 1}):
                if 0 <= at < len(got):
                    bad = bytearray(got)
                    bad[at] ^= 0x01
                    _, fault, _ = verify(tree.root, size, s, end, bytes(bad))
                    if fault != "corrupt":
                        problems.append(f"§3.2: a flip at byte {at} gives {fault}, not corrupt")
            if got:
                _, fault, _ = verify(tree.root, size, s, end, got[:-1])
                if fault != "short":
                    problems.append(f"§3.2: one byte short gives {fault}")
            _, fault, _ = verify(tree.root, size, s, end, got + b"\0")
            if fault != "trailing":
                problems.append(f"§3.2: one byte more gives {fault}")
        results.append((ename, "; ".join(problems) or None))
    return results


def check_frame(f: dict) -> tuple[str, str | None]:
    name = f"frames/{f.get('name')}"
    try:
        b = bytes.fromhex(f["hex"])
    except (KeyError, ValueError):
        return name, "hex missing or not hex"
    kind = f.get("kind")
    if "error_field" in f:
        try:
            d = decode_frame(kind, b)
        except FrameError as err:
            if err.field != f["error_field"]:
                return name, f"refused for {err.field}, not {f['error_field']} ({err})"
            return name, None
        return name, f"decoded to {d}, not refused for {f['error_field']}"
    if "decoded" not in f:
        return name, "neither decoded nor error_field"
    try:
        d = decode_frame(kind, b)
    except FrameError as err:
        return name, f"refused ({err})"
    if d != f["decoded"]:
        return name, f"decodes to {d}, not {f['decoded']}"
    source = f.get("encoded_from", f["decoded"])
    try:
        enc = encode_frame(source)
    except (KeyError, ValueError, AssertionError) as err:
        return name, f"cannot encode: {err!r}"
    if enc != b:
        return name, f"encodes to {enc.hex()[:80]}…, not the vector's hex"
    if "encoded_from" in f and encode_frame(d) != b:
        return name, "the cut frame does not re-encode to itself"
    return name, None


def check_spec_table(v: dict) -> tuple[str, str | None]:
    """The table of §7 states each content's blocks and hash: they must be
    the vectors'."""
    name = "spec/attachments.md §7 table"
    try:
        text = SPEC.read_text()
    except OSError as err:
        return name, f"cannot read {SPEC}: {err}"
    rows = {}
    for m in re.finditer(r"^\| ([0-9 ]+) \| ([0-9]+) \| `([0-9a-f]{64})` \|", text, re.M):
        rows[int(m.group(1).replace(" ", ""))] = (int(m.group(2)), m.group(3))
    want = {c.get("size"): (c.get("blocks"), c.get("hash")) for c in v.get("contents", [])}
    if rows != want:
        return name, f"the table says {rows}, the vectors {want}"
    return name, None


def run(v: dict, out=print) -> tuple[int, int]:
    results: list[tuple[str, str | None]] = []
    limits = v.get("limits")
    results.append(("limits", None if limits == LIMITS else f"{limits} != {LIMITS}"))
    sizes = [c.get("size") for c in v.get("contents", [])]
    if sizes != [0, 1, 16_384, 16_385, 100_000]:
        results.append(("contents/sizes", f"{sizes} are not the sizes of §7"))
    for c in v.get("contents", []):
        results.extend(check_content(c))
    for f in v.get("frames", []):
        results.append(check_frame(f))
    results.append(check_spec_table(v))
    ok = 0
    for name, problem in results:
        if problem is None:
            ok += 1
            out(f"ok   {name}")
        else:
            out(f"FAIL {name}: {problem}")
    return ok, len(results)


# ---------------------------------------------------------------------------
# Self-test: corrupted vectors must fail
# ---------------------------------------------------------------------------
def _find(v: dict, size: int) -> dict:
    return next(c for c in v["contents"] if c["size"] == size)


def _enc(v: dict, size: int, s: int) -> dict:
    return next(e for e in _find(v, size)["encodings"] if e["start"] == s)


def _frame(v: dict, name: str) -> dict:
    return next(f for f in v["frames"] if f["name"].startswith(name))


def _flip_hex(h: str, at: int) -> str:
    b = bytearray(bytes.fromhex(h))
    b[at] ^= 0x01
    return b.hex()


def _set(d: dict, k: str, val) -> None:
    d[k] = val


CORRUPTIONS = [
    ("a hash digit", lambda v: _set(_find(v, 100_000), "hash", _flip_hex(_find(v, 100_000)["hash"], 5))),
    ("the empty content's hash", lambda v: _set(_find(v, 0), "hash", "00" * 32)),
    ("blocks", lambda v: _set(_find(v, 16_385), "blocks", 3)),
    ("a byte of an encoding's block", lambda v: _set(_enc(v, 100_000, 1), "hex",
                                                     _flip_hex(_enc(v, 100_000, 1)["hex"], 20_000))),
    ("a byte of an encoding's parent pair", lambda v: _set(_enc(v, 16_385, 1), "hex",
                                                           _flip_hex(_enc(v, 16_385, 1)["hex"], 40))),
    ("the one-byte content's encoding", lambda v: _set(_enc(v, 1, 0), "hex", "01")),
    ("a byte appended to an encoding", lambda v: _set(_enc(v, 100_000, 6), "hex",
                                                      _enc(v, 100_000, 6)["hex"] + "00")),
    ("a parent pair count", lambda v: _set(_enc(v, 100_000, 0), "parent_pairs", 2)),
    ("a length", lambda v: _set(_enc(v, 16_384, 0), "length", 16_383)),
    ("a sha256", lambda v: _set(_enc(v, 16_385, 0), "sha256", "00" * 32)),
    ("an encoding's range", lambda v: _set(_enc(v, 100_000, 1), "end", 2)),
    ("an encoding dropped", lambda v: _find(v, 100_000)["encodings"].pop()),
    ("a limit", lambda v: _set(v["limits"], "max_request_blocks", 65)),
    ("a frame's byte", lambda v: _set(_frame(v, "have-req"), "hex", _flip_hex(_frame(v, "have-req")["hex"], 3))),
    ("a decoded field", lambda v: _set(_frame(v, "blocks-req: blocks [1, 3)")["decoded"], "end", 4)),
    ("a have range", lambda v: _set(_frame(v, "have: two ranges")["decoded"]["ranges"][1], "len", 2)),
    ("a refusal code name", lambda v: _set(_frame(v, "refused: busy")["decoded"], "code_name", "denied")),
    ("the cut reason's source", lambda v: _set(_frame(v, "refused: a long reason")["encoded_from"],
                                               "reason", "a" + "é" * 100)),
    ("an error field", lambda v: _set(_frame(v, "blocks-req: 65 blocks"), "error_field", "start")),
    ("an invalid frame made valid", lambda v: _set(_frame(v, "have: overlapping ranges"), "hex",
                                                   encode_frame({"type": "have", "size": 100_000, "ranges": [
                                                       {"start": 0, "len": 3}, {"start": 4, "len": 2}]}).hex())),
]


def self_test(path: Path) -> int:
    v = json.loads(path.read_text())
    ok, total = run(v, out=lambda _: None)
    failures = 0
    if ok != total:
        print(f"FAIL the vectors themselves: {ok} of {total} reproduced")
        failures += 1
    # The BLAKE3 of empty input (the BLAKE3 test vectors), and the tree
    # against the hasher without blocks at sizes around chunk and block edges.
    if Tree(b"").root.hex() != "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262":
        print("FAIL BLAKE3 of empty input")
        failures += 1
    for size in (1023, 1024, 1025, 2048, 3 * 1024 + 7, 16_383, 32_768, 32_769, 49_153, 81_920):
        data = content_of(size)
        if Tree(data).root != blake3_plain(data):
            print(f"FAIL the tree and the plain hasher differ at size {size}")
            failures += 1
    caught = 0
    for name, corrupt in CORRUPTIONS:
        w = copy.deepcopy(v)
        corrupt(w)
        got_ok, got_total = run(w, out=lambda _: None)
        if got_ok < got_total:
            caught += 1
            print(f"ok   caught: {name}")
        else:
            failures += 1
            print(f"FAIL not caught: {name}")
    print(f"self-test: {caught} of {len(CORRUPTIONS)} corruptions caught")
    return 0 if failures == 0 else 1


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if a != "--self-test"]
    path = Path(args[0]) if args else DEFAULT_VECTORS
    if "--self-test" in argv[1:]:
        return self_test(path)
    v = json.loads(path.read_text())
    ok, total = run(v)
    print(f"attachments: {ok} of {total} vectors reproduced")
    return 0 if ok == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
