#!/usr/bin/env python3
"""Independent checker for the test vectors of spec/membership.md (Setu membership v1).

Written from spec/membership.md and spec/record.md alone, without reading the
reference implementation (crates/setu-member). The CBOR profile (decoder and
canonical encoder), the record check and the strict Ed25519 verification are
imported from check_vectors.py, the independent checker of spec/record.md.

It checks spec/vectors/membership.json (spec/membership.md §12):

  * charters: builds the charter body from the founders' seeds (§2), reproduces
    body_cbor, network_id, short_id and the sealed file byte for byte, and reads the
    sealed file back, verifying every signature;
  * invalid_charters: refuses each, naming exactly error_path;
  * operations / invalid_operations: JSON body -> canonical CBOR and proposal hash
    (§3); refuses invalid bodies naming error_path;
  * scenarios: decodes the charter and every signed record, then computes the key
    chains (§4), the epoch chain (§5) and record validity (§6), and compares height,
    epoch, members, keys, forked and every subject's validity. Each scenario is also
    computed with its records in reversed and shuffled orders (§5.3 order-free).

Usage: python3 spec/tools/check_membership.py [spec/vectors/membership.json]
       python3 spec/tools/check_membership.py --self-test
Prints one line per failure, then "membership vectors: N checks, M failures";
exits 0 only if M == 0.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
import sys
from pathlib import Path

import nacl.signing

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_vectors import (  # noqa: E402  (the independent record checker)
    CborFault,
    PracticeSchema,
    Tables,
    check_key,
    check_record,
    check_signature,
    decode,
    encode,
    is_uint,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VECTORS = REPO_ROOT / "spec" / "vectors" / "membership.json"

# §11 Limits
MAX_FOUNDERS = 256
MAX_NAME = 64
MAX_ID = 32
MAX_AGENCY = 200
MAX_CHARTER_FILE = 256 * 1024
MAX_DEN = 1000
MAX_MIN = 1024
MAX_VALID = 1500
MAX_SCOPE = 16
MAX_PREFIX = 64
MAX_CHAIN = 10_000
MAX_EPOCHS = 100_000

CHARTER_CONTEXT = b"setu/v1/charter"  # §2.4: 15 bytes
EPOCH_CONTEXT = b"setu/v1/epoch"      # §5.2
RECORD_CONTEXT = b"setu/v1/record"

MEMBER_ID_RE = re.compile(r"[a-z][a-z0-9\-]{0,31}")
COUNTRY_RE = re.compile(r"[A-Z]{3}")
PREFIX_RE = re.compile(r"[!-~]{1,64}")

QUORUM_OPS = ("revoke", "recover", "amend", "endorse")  # §5.2 class order 0..3
CLASS = {op: i for i, op in enumerate(QUORUM_OPS)}
SINGLE_OPS = ("rotate", "retire", "delegate", "undelegate")


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


class Refused(Exception):
    """A charter or operation body refused, naming the path at fault."""

    def __init__(self, path: str, why: str = ""):
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


# ---------------------------------------------------------------------------
# §2 The charter
# ---------------------------------------------------------------------------


def required(th: dict, n: int) -> int:
    """§2.1: required(n) = max(min, floor(n * num / den) + 1)."""
    return max(th["min"], n * th["num"] // th["den"] + 1)


def reachable(th: dict, n: int) -> bool:
    return required(th, n) <= n


def _cc_free(s: str) -> bool:
    # Unicode category Cc: U+0000..U+001F and U+007F..U+009F
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in s)


def _text(v, path: str, lo: int, hi: int, blank_ok: bool = True) -> str:
    if not isinstance(v, str):
        raise Refused(path, "not text")
    n = len(v.encode("utf-8"))
    if not lo <= n <= hi:
        raise Refused(path, f"{n} bytes, not {lo} to {hi}")
    if not _cc_free(v):
        raise Refused(path, "holds a control character")
    if not blank_ok and not v.strip():
        raise Refused(path, "blank")
    return v


def check_key32(v, path: str) -> bytes:
    if not isinstance(v, bytes) or len(v) != 32:
        raise Refused(path, "not a 32-byte byte string")
    why = check_key(v)
    if why:
        raise Refused(path, why)
    return v


def check_exact_keys(m, path: str, required_keys, optional_keys=()):
    """Unknown keys first (in canonical order), then missing ones."""
    if not isinstance(m, dict):
        raise Refused(path, "not a map")
    allowed = set(required_keys) | set(optional_keys)
    for k in sorted(m, key=lambda k: encode(k)):
        if k not in allowed:
            raise Refused(f"{path}.{k}", "unknown field")
    for k in required_keys:
        if k not in m:
            raise Refused(f"{path}.{k}", "missing")


def check_member_id(v, path: str) -> str:
    if not isinstance(v, str) or not MEMBER_ID_RE.fullmatch(v):
        raise Refused(path, f"{v!r} is not a member id")
    return v


def check_entry(e, path: str) -> dict:
    """§2.2."""
    if not isinstance(e, dict):
        raise Refused(path, "not a map")
    opt = ("country", "org")
    check_exact_keys(e, path, ("id", "agency", "role", "key"), opt)
    has = [k for k in opt if k in e]
    if len(has) != 1:
        raise Refused(path, "needs exactly one of country and org")
    check_member_id(e["id"], f"{path}.id")
    if "country" in e:
        if not isinstance(e["country"], str) or not COUNTRY_RE.fullmatch(e["country"]):
            raise Refused(f"{path}.country", f"{e['country']!r} is not three capitals A-Z")
    else:
        _text(e["org"], f"{path}.org", 1, MAX_AGENCY, blank_ok=False)
    _text(e["agency"], f"{path}.agency", 1, MAX_AGENCY, blank_ok=False)
    if e["role"] not in ("member", "partner"):
        raise Refused(f"{path}.role", f"{e['role']!r} is neither member nor partner")
    check_key32(e["key"], f"{path}.key")
    return e


def check_threshold(t, path: str) -> dict:
    check_exact_keys(t, path, ("num", "den", "min"))
    for k in ("num", "den", "min"):
        if not is_uint(t[k]):
            raise Refused(f"{path}.{k}", "not a uint")
    if not 1 <= t["den"] <= MAX_DEN:
        raise Refused(f"{path}.den", "not 1 to 1000")
    if not t["num"] < t["den"]:
        raise Refused(f"{path}.num", "not below den")
    if not 1 <= t["min"] <= MAX_MIN:
        raise Refused(f"{path}.min", "not 1 to 1024")
    return t


def check_charter_body(body) -> None:
    """§2.1 - §2.3, paths as charter.<field>."""
    p = "charter"
    check_exact_keys(body, p, ("v", "name", "members", "admit", "recover"))
    if not is_uint(body["v"]) or body["v"] != 1:
        raise Refused("charter.v", "not 1")
    _text(body["name"], "charter.name", 1, MAX_NAME)
    ms = body["members"]
    if not isinstance(ms, list) or not 1 <= len(ms) <= MAX_FOUNDERS:
        raise Refused("charter.members", "not an array of 1 to 256 entries")
    for i, e in enumerate(ms):
        check_entry(e, f"charter.members[{i}]")
    for i in range(1, len(ms)):
        if not ms[i - 1]["id"].encode() < ms[i]["id"].encode():
            raise Refused(f"charter.members[{i}].id", "not sorted by id, or an id twice")
    if len({e["key"] for e in ms}) != len(ms):
        raise Refused("charter.members", "a key twice")
    check_threshold(body["admit"], "charter.admit")
    check_threshold(body["recover"], "charter.recover")
    n = sum(1 for e in ms if e["role"] == "member")
    for k in ("admit", "recover"):
        if not reachable(body[k], n):
            raise Refused(f"charter.{k}", f"unreachable with {n} voting founders")


def read_charter(data: bytes) -> dict:
    """§2.4: decode a charter file and refuse it unless sealed and valid.
    Returns {body, body_bytes, network_id, sigs}."""
    if len(data) > MAX_CHARTER_FILE:
        raise Refused("charter", "larger than 256 KiB")
    try:
        outer, nc = decode(data)
    except CborFault as e:
        raise Refused("charter", f"cbor: {e}")
    if nc:
        raise Refused("charter", f"noncanonical: {nc[0]}")
    if not (isinstance(outer, list) and len(outer) == 2 and isinstance(outer[0], bytes)):
        raise Refused("charter", "not [bstr body, [signatures]]")
    body_bytes, sigs = outer
    try:
        body, nc = decode(body_bytes)
    except CborFault as e:
        raise Refused("charter", f"body cbor: {e}")
    if nc:
        raise Refused("charter", f"body noncanonical: {nc[0]}")
    check_charter_body(body)
    founders = {e["id"]: e for e in body["members"]}
    if not isinstance(sigs, list):
        raise Refused("signatures", "not an array")
    msg = CHARTER_CONTEXT + sha256(body_bytes)
    prev = None
    for i, s in enumerate(sigs):
        p = f"signatures[{i}]"
        if not (isinstance(s, list) and len(s) == 2 and isinstance(s[0], str)
                and isinstance(s[1], bytes) and len(s[1]) == 64):
            raise Refused(p, "not [text member_id, bstr 64-byte sig]")
        mid, sig = s
        if mid not in founders:
            raise Refused(p, f"{mid!r} is no founder")
        if prev is not None and not prev.encode() < mid.encode():
            raise Refused(p, "not sorted by member id, or a founder twice")
        prev = mid
        why = check_signature(founders[mid]["key"], msg, sig)
        if why:
            raise Refused(p, why)
    if len(sigs) != len(founders):
        raise Refused("signatures", f"{len(sigs)} of {len(founders)} founders signed: not sealed")
    return {"body": body, "body_bytes": body_bytes, "network_id": sha256(body_bytes),
            "sigs": sigs}


def parse_threshold(s: str) -> dict:
    frac, mn = s.split("+")
    num, den = frac.split("/")
    return {"num": int(num), "den": int(den), "min": int(mn)}


def build_charter(v: dict) -> tuple[bytes, bytes]:
    """From a charters vector: (body_bytes, sealed charter file)."""
    entries, signers = [], {}
    for f in v["founders"]:
        sk = nacl.signing.SigningKey(bytes.fromhex(f["seed"]))
        e = {k: x for k, x in f.items() if k != "seed"}
        e["key"] = sk.verify_key.encode()
        entries.append(e)
        signers[f["id"]] = sk
    entries.sort(key=lambda e: e["id"].encode())
    body = {"v": 1, "name": v["charter_name"], "members": entries,
            "admit": parse_threshold(v["admit"]), "recover": parse_threshold(v["recover"])}
    body_bytes = encode(body)
    msg = CHARTER_CONTEXT + sha256(body_bytes)
    sigs = [[e["id"], signers[e["id"]].sign(msg).signature] for e in entries]
    return body_bytes, encode([body_bytes, sigs])


# ---------------------------------------------------------------------------
# §3 Operations
# ---------------------------------------------------------------------------

OP_FIELDS = {  # required keys besides op and net; optional keys
    "endorse": (("epoch", "member"), ()),
    "rotate": (("member", "key"), ()),
    "retire": (("member",), ()),
    "recover": (("epoch", "member", "old", "last", "key"), ()),
    "revoke": (("epoch", "member", "key", "valid"), ()),
    "delegate": (("member", "key", "scope"), ("expires",)),
    "undelegate": (("member", "key", "last"), ()),
    "amend": (("epoch",), ("admit", "recover", "remove")),
}


def _bstr32(v, path):
    if not isinstance(v, bytes) or len(v) != 32:
        raise Refused(path, "not a 32-byte byte string")


def _uint(v, path):
    if not is_uint(v):
        raise Refused(path, "not a uint")


def check_op_body(b) -> dict:
    """§3.1-§3.2, paths as body.<field>."""
    if not isinstance(b, dict):
        raise Refused("body", "not a map")
    if "op" not in b:
        raise Refused("body.op", "missing")
    op = b["op"]
    if not isinstance(op, str) or op not in OP_FIELDS:
        raise Refused("body.op", f"{op!r} is no operation of this version")
    req, opt = OP_FIELDS[op]
    check_exact_keys(b, "body", ("op", "net") + req, opt)
    _bstr32(b["net"], "body.net")
    if "epoch" in b:
        _bstr32(b["epoch"], "body.epoch")
    if op == "endorse":
        check_entry(b["member"], "body.member")
    elif "member" in b:
        check_member_id(b["member"], "body.member")
    if "old" in b:
        check_key32(b["old"], "body.old")
    if "key" in b:
        check_key32(b["key"], "body.key")
    for k in ("last", "expires"):
        if k in b:
            _uint(b[k], f"body.{k}")
    if op == "recover" and b["key"] == b["old"]:
        raise Refused("body.key", "equals old")
    if op == "revoke":
        vs = b["valid"]
        if not isinstance(vs, list) or len(vs) > MAX_VALID:
            raise Refused("body.valid", "not an array of 0 to 1500 ids")
        for i, x in enumerate(vs):
            _bstr32(x, f"body.valid[{i}]")
            if i and not vs[i - 1] < x:
                raise Refused(f"body.valid[{i}]", "not strictly ascending")
    if op == "delegate":
        sc = b["scope"]
        if not isinstance(sc, list) or not 1 <= len(sc) <= MAX_SCOPE:
            raise Refused("body.scope", "not an array of 1 to 16 prefixes")
        for i, x in enumerate(sc):
            if not isinstance(x, str) or not PREFIX_RE.fullmatch(x):
                raise Refused(f"body.scope[{i}]", "not 1 to 64 bytes of ! to ~")
    if op == "amend":
        if not any(k in b for k in ("admit", "recover", "remove")):
            raise Refused("body", "an amendment that changes nothing")
        for k in ("admit", "recover"):
            if k in b:
                check_threshold(b[k], f"body.{k}")
        if "remove" in b:
            check_exact_keys(b["remove"], "body.remove", ("member", "last"))
            check_member_id(b["remove"]["member"], "body.remove.member")
            _uint(b["remove"]["last"], "body.remove.last")
    return b


def op_from_json(j: dict) -> dict:
    """§12: the JSON body, byte strings as hex. Which fields are byte strings is
    known from §3.2 (net, epoch, key, old, valid[], and an entry's key)."""
    b = copy.deepcopy(j)
    for k in ("net", "epoch", "key", "old"):
        if k in b:
            b[k] = bytes.fromhex(b[k])
    if "valid" in b:
        b["valid"] = [bytes.fromhex(x) for x in b["valid"]]
    if b.get("op") == "endorse" and isinstance(b.get("member"), dict):
        b["member"]["key"] = bytes.fromhex(b["member"]["key"])
    return b


# ---------------------------------------------------------------------------
# §4 - §6 The member set and record validity
# ---------------------------------------------------------------------------


class Op:
    """One membership operation: a valid signed record of kind member with a valid body."""

    def __init__(self, rid: bytes, author: bytes, seq: int, ts: int, body: dict):
        self.id, self.author, self.seq, self.ts, self.body = rid, author, seq, ts, body
        self.op = body["op"]
        self.phash = sha256(encode(body))


class Member:
    def __init__(self, entry: dict, height: int):
        self.entry = entry
        self.id = entry["id"]
        self.role = entry["role"]
        self.first_key = entry["key"]
        self.height = height
        self.removed = None  # the removal's last, once removed


class State:
    """§5.1 quorum state."""

    def __init__(self, body: dict):
        self.members = {e["id"]: Member(e, 0) for e in body["members"]}
        self.admit = dict(body["admit"])
        self.recover = dict(body["recover"])
        self.recoveries = []   # (member, old, last, key) in the order applied
        self.revoked = {}      # key -> frozenset of valid record ids

    def clone(self) -> "State":
        s = copy.copy(self)
        s.members = {k: copy.copy(m) for k, m in self.members.items()}
        s.admit, s.recover = dict(self.admit), dict(self.recover)
        s.recoveries = list(self.recoveries)
        s.revoked = dict(self.revoked)
        return s

    def voting(self) -> list[str]:
        return [m.id for m in self.members.values() if m.role == "member" and m.removed is None]


class Term:
    def __init__(self, key: bytes, index: int):
        self.key, self.index, self.seal = key, index, None


class Chain:
    def __init__(self, member: str):
        self.member = member
        self.terms: list[Term] = []
        self.ended = False
        self.forked = False

    def current(self):
        return None if self.ended or not self.terms else self.terms[-1].key


class View:
    """Key chains, delegates and void keys of every member under one state (§4)."""

    def __init__(self, state: State, ops: list[Op]):
        self.state = state
        self.rotates_by = {}  # signer key -> [Op rotate/retire]
        for o in ops:
            if o.op in ("rotate", "retire"):
                self.rotates_by.setdefault(o.author, []).append(o)
        # §4.4 step 1: possible signers
        first = self._chains(excluded=frozenset())
        possible = {t.key for c in first[0].values() for t in c.terms}
        # step 2: introductions
        count = {}

        def intro(k):
            count[k] = count.get(k, 0) + 1
        for m in state.members.values():
            intro(m.first_key)   # the charter's founders and applied endorsements
        for (_m, _old, _last, k) in state.recoveries:
            intro(k)
        for o in ops:
            if o.op == "rotate" and o.author in possible:
                intro(o.body["key"])
        self.count = count
        twice = frozenset(k for k, n in count.items() if n > 1)
        # step 3
        self.chains, void = self._chains(excluded=twice)
        for o in ops:  # rotations left out by §4.4 name a void key
            if o.op == "rotate" and o.author in possible and o.body["key"] in twice:
                void.add(o.body["key"])
        self.term_of = {}  # key -> (member, Term)
        for mid in sorted(self.chains):
            for t in self.chains[mid].terms:
                self.term_of.setdefault(t.key, (mid, t))
        self._delegates(ops, possible, void)
        self.void = void

    def usable(self, key: bytes, rid: bytes, seq: int, seal) -> bool:
        """§4.1."""
        if key in self.state.revoked and rid not in self.state.revoked[key]:
            return False
        return seal is None or seq <= seal

    def _chains(self, excluded):
        st = self.state
        chains, void = {}, set()
        for mid, m in st.members.items():
            c = Chain(mid)
            key, visited = m.first_key, set()
            for _ in range(MAX_CHAIN):
                if key in visited:
                    c.ended = True  # the last term rotated to a key met before
                    break
                visited.add(key)
                term = Term(key, len(c.terms))
                c.terms.append(term)
                rec = next((r for r in st.recoveries if r[0] == mid and r[1] == key), None)
                if rec is not None:  # §4.2 step 1
                    term.seal = rec[2]
                    for o in self.rotates_by.get(key, []):
                        if o.op == "rotate" and o.body["member"] == mid:
                            void.add(o.body["key"])
                    key = rec[3]
                    continue
                events = [o for o in self.rotates_by.get(key, [])
                          if o.body["member"] == mid and self.usable(key, o.id, o.seq, None)
                          and not (o.op == "rotate" and o.body["key"] in excluded)]
                if not events:
                    break
                if len(events) == 1:
                    o = events[0]
                    term.seal = o.seq
                    if o.op == "retire":
                        c.ended = True
                        break
                    key = o.body["key"]
                    continue
                c.forked = True
                for o in events:
                    if o.op == "rotate":
                        void.add(o.body["key"])
                break
            else:
                c.ended = True  # more than 10,000 keys: assumed to end the chain
            if m.removed is not None:  # §4.2 step 3
                t = c.terms[-1]
                t.seal = m.removed if t.seal is None else min(t.seal, m.removed)
                c.ended = True
            chains[mid] = c
        return chains, void

    def _delegates(self, ops, possible, void):
        """§4.5."""
        naming = {}  # key -> member ids naming it in delegate records by possible signers
        for o in ops:
            if o.op == "delegate" and o.author in possible:
                naming.setdefault(o.body["key"], set()).add(o.body["member"])
        counting = {}  # (member, key) -> [(term index, seq, id, op)]
        undel = {}
        for o in ops:
            if o.op not in ("delegate", "undelegate"):
                continue
            hit = self.term_of.get(o.author)
            if hit is None or hit[0] != o.body["member"]:
                continue
            mid, t = hit
            if not self.usable(o.author, o.id, o.seq, t.seal):
                continue
            if o.op == "delegate":
                counting.setdefault((mid, o.body["key"]), []).append((t.index, o.seq, o.id, o))
            else:
                undel.setdefault((mid, o.body["key"]), []).append(o.body["last"])
        self.delegates = {}  # key -> (member, scope, expires, seal)
        for (mid, k), ds in sorted(counting.items()):
            if k in self.count or k in self.term_of or len(naming.get(k, ())) > 1:
                void.add(k)
                continue
            best = max(ds, key=lambda d: d[:3])[3]
            seal = min(undel[(mid, k)]) if (mid, k) in undel else None
            self.delegates.setdefault(k, (mid, best.body["scope"], best.body.get("expires"), seal))

    def signer(self, o: Op):
        """The member whose term key signed o, if usable (§4.1), else None."""
        hit = self.term_of.get(o.author)
        if hit is None:
            return None
        mid, t = hit
        return mid if self.usable(o.author, o.id, o.seq, t.seal) else None

    def term_keys(self, mid) -> set:
        return {t.key for t in self.chains[mid].terms} if mid in self.chains else set()

    def known(self, k: bytes) -> bool:
        """§5.4 endorse: a first key, a recovery's key, a term or delegate key, or void."""
        st = self.state
        return (any(m.first_key == k for m in st.members.values())
                or any(r[3] == k for r in st.recoveries)
                or k in self.term_of or k in self.delegates or k in self.void)


def applies(group_op: Op, state: State, ops: list[Op]) -> bool:
    """§5.4: is the group void against state (as changed by the batch so far)?"""
    b = group_op.body
    op = group_op.op
    view = View(state, ops)
    if op == "endorse":
        e = b["member"]
        return e["id"] not in state.members and not view.known(e["key"])
    if op == "recover":
        m = state.members.get(b["member"])
        return (m is not None and m.removed is None and b["old"] in view.term_keys(m.id)
                and not any(r[1] == b["old"] for r in state.recoveries)
                and not view.known(b["key"]))
    if op == "revoke":
        k = b["key"]
        is_mine = k in view.term_keys(b["member"]) or (
            k in view.delegates and view.delegates[k][0] == b["member"])
        return is_mine and k not in state.revoked
    if op == "amend":
        if "remove" in b:
            m = state.members.get(b["remove"]["member"])
            if m is None or m.removed is not None:
                return False
        trial = state.clone()
        apply_op(group_op, trial, 0)
        n = len(trial.voting())
        return n > 0 and reachable(trial.admit, n) and reachable(trial.recover, n)
    return False


def apply_op(o: Op, state: State, h: int) -> None:
    b = o.body
    if o.op == "endorse":
        state.members[b["member"]["id"]] = Member(b["member"], h + 1)
    elif o.op == "recover":
        state.recoveries.append((b["member"], b["old"], b["last"], b["key"]))
    elif o.op == "revoke":
        state.revoked[b["key"]] = frozenset(b["valid"])
    elif o.op == "amend":
        for k in ("admit", "recover"):
            if k in b:
                setattr(state, k, dict(b[k]))
        if "remove" in b:
            state.members[b["remove"]["member"]].removed = b["remove"]["last"]


def compute(charter: dict, ops: list[Op]):
    """§5.2. Returns (height, epoch, state, view)."""
    net = charter["network_id"]
    ops = [o for o in ops if o.body["net"] == net]  # §3.1: another network's ops are void
    quorum = [o for o in ops if o.op in QUORUM_OPS]
    epoch, state, h = net, State(charter["body"]), 0
    counted = set()  # ids of the records whose votes counted for an applied op
    while h < MAX_EPOCHS:
        view = View(state, ops)
        voting = set(state.voting())
        n = len(voting)
        groups = {}
        for o in quorum:
            if o.body["epoch"] == epoch:
                groups.setdefault(o.phash, []).append(o)
        enabled = []
        for ph, g in groups.items():
            signers, votes = set(), []
            for o in g:
                mid = view.signer(o)
                if mid is not None and mid in voting:
                    signers.add(mid)
                    votes.append(o.id)
            th = state.admit if g[0].op == "endorse" else state.recover
            if len(signers) >= required(th, n):
                enabled.append((CLASS[g[0].op], ph, g[0], votes))
        if not enabled:
            break
        enabled.sort(key=lambda x: (x[0], x[1]))
        applied = []
        for _c, ph, o, votes in enabled:
            if applies(o, state, ops):
                apply_op(o, state, h)
                applied.append(ph)
                counted.update(votes)
        if not applied:
            break
        epoch = sha256(EPOCH_CONTEXT + epoch + b"".join(applied))
        h += 1
    final = View(state, ops)
    final.counted = counted
    return h, epoch, state, final


def validity(view: View, subj: dict) -> str:
    """§6.1 for a subject {id, author, seq, ts, kind, practice_id}."""
    k = bytes.fromhex(subj["author"])
    rid = bytes.fromhex(subj["id"])
    seq, ts = subj["seq"], subj["ts"]
    st = view.state
    hit = view.term_of.get(k)
    if hit is not None and rid in getattr(view, "counted", set()):
        return f"valid:{hit[0]}"  # a counted vote is part of the chain (§5.3)
    if hit is not None:
        mid, t = hit
        if view.usable(k, rid, seq, t.seal):
            return f"valid:{mid}"
        return "invalid:revoked" if k in st.revoked and rid not in st.revoked[k] else "invalid:sealed"
    if k in view.delegates:
        mid, scope, expires, seal = view.delegates[k]
        if st.members[mid].removed is not None:
            return "invalid:removed"
        if k in st.revoked and rid not in st.revoked[k]:
            return "invalid:revoked"
        if seal is not None and seq > seal:
            return "invalid:sealed"
        pid = subj.get("practice_id")
        if not (subj["kind"] == "practice" and isinstance(pid, str)
                and any(pid.startswith(p) for p in scope)):
            return "invalid:out-of-scope"
        if expires is not None and ts >= expires:
            return "invalid:expired"
        return f"valid:{mid}"
    if k in view.void:
        return "invalid:void-key"
    return "quarantined"


def read_ops(records: list[bytes], schema) -> tuple[list[Op], list[str]]:
    """Decode and verify every signed record (spec/record.md §7); keep membership ops."""
    ops, problems = [], []
    for i, rec in enumerate(records):
        v = check_record(rec, schema)
        if v.reason is not None:
            problems.append(f"records[{i}] refused: {v.reason} ({v.detail})")
            continue
        env = v.envelope
        if env["kind"] != "member":
            continue
        env_bytes = decode(rec)[0][0]
        try:
            body = check_op_body(env["body"])
        except Refused as e:
            problems.append(f"records[{i}]: body refused at {e.path}")
            continue
        ops.append(Op(sha256(env_bytes), env["author"], env["seq"], env["ts"], body))
    return ops, problems


def result_of(charter: dict, ops: list[Op], subjects: list[dict]) -> dict:
    h, epoch, state, view = compute(charter, ops)
    return {
        "height": h,
        "epoch": epoch.hex(),
        "members": sorted((m.id for m in state.members.values() if m.removed is None),
                          key=str.encode),
        "keys": {mid: (c.current().hex() if c.current() else None)
                 for mid, c in sorted(view.chains.items())},
        "forked": sorted((mid for mid, c in view.chains.items() if c.forked), key=str.encode),
        "validity": {s["label"]: validity(view, s) for s in subjects},
    }


# ---------------------------------------------------------------------------
# The vector runner
# ---------------------------------------------------------------------------


class Runner:
    def __init__(self):
        self.checks = 0
        self.failures: list[str] = []
        self.schema = PracticeSchema(Tables())

    def check(self, name: str, ok: bool, what: str):
        self.checks += 1
        if not ok:
            self.failures.append(f"FAIL {name}: {what}")

    def eq(self, name: str, field: str, got, want):
        self.check(name, got == want, f"{field}: expected {want!r}, computed {got!r}")

    def charters(self, vs):
        for v in vs:
            name = f"charters/{v['name']}"
            body_bytes, sealed = build_charter(v)
            self.eq(name, "body_cbor", body_bytes.hex(), v["body_cbor"])
            nid = sha256(body_bytes)
            self.eq(name, "network_id", nid.hex(), v["network_id"])
            self.eq(name, "short_id", nid[:12].hex(), v["short_id"])
            self.eq(name, "charter", sealed.hex(), v["charter"])
            try:
                c = read_charter(bytes.fromhex(v["charter"]))
                self.eq(name, "network_id of the sealed file", c["network_id"].hex(), v["network_id"])
                self.eq(name, "signatures", len(c["sigs"]), len(v["founders"]))
            except Refused as e:
                self.check(name, False, f"sealed charter refused at {e.path}: {e.why}")

    def invalid_charters(self, vs):
        for v in vs:
            name = f"invalid_charters/{v['name']}"
            try:
                read_charter(bytes.fromhex(v["charter"]))
                self.check(name, False, f"accepted, expected refusal at {v['error_path']}")
            except Refused as e:
                self.eq(name, "error_path", e.path, v["error_path"])

    def operations(self, vs):
        for v in vs:
            name = f"operations/{v['op']}"
            body = op_from_json(v["body"])
            cb = encode(body)
            self.eq(name, "body_cbor", cb.hex(), v["body_cbor"])
            self.eq(name, "proposal_hash", sha256(cb).hex(), v["proposal_hash"])
            try:
                check_op_body(decode(bytes.fromhex(v["body_cbor"]))[0])
                self.check(name, True, "")
            except (Refused, CborFault) as e:
                self.check(name, False, f"valid body refused: {e}")

    def invalid_operations(self, vs):
        for v in vs:
            name = f"invalid_operations/{v['name']}"
            try:
                b, nc = decode(bytes.fromhex(v["body_cbor"]))
                if nc:
                    raise Refused("body", "noncanonical")
                check_op_body(b)
                self.check(name, False, f"accepted, expected refusal at {v['error_path']}")
            except CborFault as e:
                self.check(name, False, f"body is not CBOR: {e}")
            except Refused as e:
                self.eq(name, "error_path", e.path, v["error_path"])

    def scenarios(self, vs):
        for v in vs:
            name = f"scenarios/{v['name']}"
            try:
                charter = read_charter(bytes.fromhex(v["charter"]))
            except Refused as e:
                self.check(name, False, f"charter refused at {e.path}: {e.why}")
                continue
            ops, problems = read_ops([bytes.fromhex(r) for r in v["records"]], self.schema)
            for p in problems:
                self.check(name, False, p)
            got = result_of(charter, ops, v["subjects"])
            want = v["expect"]
            for f in ("height", "epoch", "members", "keys", "forked"):
                self.eq(name, f, got[f], want[f])
            for label in sorted(set(want["validity"]) | set(got["validity"])):
                self.eq(name, f"validity[{label}]", got["validity"].get(label),
                        want["validity"].get(label))
            # §5.3: order-free. The same result with the records reversed and shuffled.
            rng = random.Random(v["name"])
            orders = [list(reversed(ops))] + [rng.sample(ops, len(ops)) for _ in range(3)]
            for i, order in enumerate(orders):
                self.check(name, result_of(charter, order, v["subjects"]) == got,
                           f"result depends on record order (permutation {i})")

    def run(self, doc: dict):
        self.charters(doc["charters"])
        self.invalid_charters(doc["invalid_charters"])
        self.operations(doc["operations"])
        self.invalid_operations(doc["invalid_operations"])
        self.scenarios(doc["scenarios"])


def run_file(doc: dict) -> Runner:
    r = Runner()
    r.run(doc)
    return r


def _own_cases() -> list[str]:
    """Rules of §4-§6 that no scenario of the vectors exercises (out-of-scope, expired,
    removed delegates, a revoked delegate, a fork no recovery resolves, quarantine),
    on records signed here. These check this implementation against its own reading
    of the spec, not against the reference."""
    sk = {n: nacl.signing.SigningKey(bytes([i + 1]) * 32) for i, n in enumerate("abcDEFGHIJ")}
    pk = {n: k.verify_key.encode() for n, k in sk.items()}
    v = {"charter_name": "own cases", "admit": "1/2+2", "recover": "1/2+2",
         "founders": [{"id": n, "country": "BGD", "agency": f"Agency {n}", "role": "member",
                       "seed": (bytes([i + 1]) * 32).hex()} for i, n in enumerate("abc")]}
    _body, sealed = build_charter(v)
    charter = read_charter(sealed)
    net, ep0 = charter["network_id"], charter["network_id"]
    recs, subj = [], []

    def sign(who, seq, kind, body, ts=0, label=None, pid=None):
        env = {"v": 1, "ts": ts, "seq": seq, "body": body, "kind": kind, "author": pk[who]}
        eb = encode(env)
        rid = sha256(eb)
        rec = encode([eb, sk[who].sign(RECORD_CONTEXT + rid).signature])
        if kind == "member":
            recs.append(rec)
        if label:
            subj.append({"label": label, "id": rid.hex(), "author": pk[who].hex(), "seq": seq,
                         "ts": ts, "kind": kind, "practice_id": pid})
        return rid

    def practice(who, seq, pid, label, ts=0):
        return sign(who, seq, "practice", {"practice_id": pid}, ts, label, pid)

    def op(who, seq, **body):
        return sign(who, seq, "member", dict(body, net=net))

    # a delegates D (scope x-, expires 1000) and undelegates it at last 3
    op("a", 1, op="delegate", member="a", key=pk["D"], scope=["x-"], expires=1000)
    op("a", 2, op="undelegate", member="a", key=pk["D"], last=3)
    practice("D", 1, "x-1", "d-in-scope")
    practice("D", 2, "y-1", "d-out-of-scope")
    practice("D", 3, "x-2", "d-expired", ts=1000)
    practice("D", 4, "x-3", "d-sealed")
    # b delegates E; a quorum removes b: E's records are refused as removed
    op("b", 1, op="delegate", member="b", key=pk["E"], scope=["x-"])
    practice("E", 1, "x-1", "e-removed")
    for n in "abc":
        op(n, 5, op="amend", epoch=ep0, remove={"member": "b", "last": 5})
    # c delegates F; a quorum revokes F keeping F's first record
    op("c", 1, op="delegate", member="c", key=pk["F"], scope=["x-"])
    f1 = practice("F", 1, "x-1", "f-kept")
    practice("F", 2, "x-2", "f-revoked")
    for n in "ac":
        op(n, 6, op="revoke", epoch=ep0, member="c", key=pk["F"], valid=[f1])
    # c forks: two rotations from its first key, no recovery
    op("c", 2, op="rotate", member="c", key=pk["G"])
    op("c", 3, op="rotate", member="c", key=pk["H"])
    practice("c", 9, "c-1", "c-still-current")
    practice("G", 1, "g-1", "g-void")
    practice("I", 1, "i-1", "i-quarantined")
    want = {"members": ["a", "c"], "forked": ["c"], "height": 1,
            "keys": {"a": pk["a"].hex(), "b": None, "c": pk["c"].hex()},
            "validity": {"d-in-scope": "valid:a", "d-out-of-scope": "invalid:out-of-scope",
                         "d-expired": "invalid:expired", "d-sealed": "invalid:sealed",
                         "e-removed": "invalid:removed", "f-kept": "valid:c",
                         "f-revoked": "invalid:revoked", "c-still-current": "valid:c",
                         "g-void": "invalid:void-key", "i-quarantined": "quarantined"}}
    ops, problems = read_ops(recs, None)
    got = result_of(charter, ops, subj)
    fails = list(problems)
    for k, x in want.items():
        if got[k] != x:
            fails.append(f"own cases: {k}: expected {x!r}, computed {got[k]!r}")
    return fails


def self_test(path: Path) -> int:
    """Corrupt vectors in memory; the checker must report failures for each."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    base = run_file(doc)
    failed = 0
    if base.failures:
        print(f"FAIL self-test: the unmodified vectors already fail ({len(base.failures)})")
        failed += 1

    def sc(d, name):
        return next(s for s in d["scenarios"] if s["name"] == name)

    def flip_validity(d):
        s = sc(d, "rotation")
        lab = sorted(s["expect"]["validity"])[0]
        s["expect"]["validity"][lab] = "invalid:sealed" if s["expect"]["validity"][lab].startswith("valid") else "valid:a"

    def change_key(d):
        s = sc(d, "recovery")
        s["expect"]["keys"]["a"] = s["expect"]["keys"]["b"]

    def drop_record(d):  # without f's endorsement (subject g4), g is not admitted
        s = sc(d, "admission")
        gone = next(x["id"] for x in s["subjects"] if x["label"] == "g4")
        s["records"] = [r for r in s["records"]
                        if sha256(decode(bytes.fromhex(r))[0][0]).hex() != gone]
        assert len(s["records"]) == 7

    def drop_all_records(d):
        s = sc(d, "theft")
        s["records"] = []

    def bump_height(d):
        sc(d, "partition")["expect"]["height"] += 1

    def fork_claim(d):
        sc(d, "fork")["expect"]["forked"] = ["a"]

    def charter_byte(d):
        v = d["charters"][0]
        v["charter"] = v["charter"][:-2] + ("00" if v["charter"][-2:] != "00" else "01")

    def founder_seed(d):
        d["charters"][1]["founders"][0]["seed"] = "00" * 32

    def op_field(d):
        d["operations"][3]["body"]["last"] += 1

    def error_path(d):
        d["invalid_operations"][0]["error_path"] = "body"

    def charter_path(d):
        d["invalid_charters"][1]["error_path"] = "signatures[0]"

    def tamper_record(d):  # one byte of a signature: the record is refused
        s = sc(d, "delegation")
        r = s["records"][0]
        s["records"][0] = r[:-2] + ("00" if r[-2:] != "00" else "01")

    corruptions = [flip_validity, change_key, drop_record, drop_all_records, bump_height,
                   fork_claim, charter_byte, founder_seed, op_field, error_path, charter_path,
                   tamper_record]
    for c in corruptions:
        d = copy.deepcopy(doc)
        c(d)
        r = run_file(d)
        if not r.failures:
            failed += 1
            print(f"FAIL self-test {c.__name__}: the corrupted vectors pass")
    for f in _own_cases():
        failed += 1
        print(f"FAIL self-test {f}")
    total = len(corruptions) + 1
    print(f"membership self-test: {total} corruptions and controls, {failed} failures"
          if failed else f"membership self-test: {total - 1} corruptions all detected, 0 failures")
    return 0 if failed == 0 else 1


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if a != "--self-test"]
    path = Path(args[0]) if args else DEFAULT_VECTORS
    if "--self-test" in argv[1:]:
        return self_test(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    r = run_file(doc)
    for f in r.failures:
        print(f)
    print(f"membership vectors: {r.checks} checks, {len(r.failures)} failures")
    return 0 if not r.failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
