"""Writes the spec's vectors into fuzz/seeds/<target>/ as seed inputs.

The seeds are committed; a fuzz run reads them beside its own growing
corpus (fuzz/corpus/<target>/, not committed):

    cargo fuzz run net_frame fuzz/corpus/net_frame fuzz/seeds/net_frame

Run it again after the vectors change: `python3 fuzz/seed_corpus.py`.
"""
import hashlib
import json
import pathlib
import shutil
import struct

root = pathlib.Path(__file__).resolve().parent.parent
seeds = root / "fuzz" / "seeds"
vectors = root / "spec" / "vectors"


MAX_SEED_BYTES = 65_536  # larger inputs are left to the vector tests


def write(target, name, data):
    if len(data) > MAX_SEED_BYTES:
        return
    d = seeds / target
    d.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]
    digest = hashlib.sha256(data).hexdigest()[:8]
    (d / f"{safe}-{digest}").write_bytes(data)


def load(name):
    return json.loads((vectors / name).read_text())


shutil.rmtree(seeds, ignore_errors=True)

records = load("records.json")
for group in ("valid", "invalid"):
    for v in records[group]:
        write("signed_record", f"{group}-{v['name']}", bytes.fromhex(v["signed_record"]))

for v in load("net.json")["vectors"]:
    write("net_frame", f"{v['kind']}-{v['name']}", bytes.fromhex(v["hex"]))

sync = load("sync.json")
for c in sync["cases"]:
    for k, m in enumerate(c["messages"]):
        if len(m) // 2 <= 8192:
            write("sync_message", f"{c['name']}-{k}", bytes.fromhex(m))
for r in sync["replies"]:
    write("sync_message", f"reply-{r['name']}", bytes.fromhex(r["message"]))
for v in sync.get("decoding", []):
    write("sync_message", f"decoding-{v['name']}", bytes.fromhex(v["message"]))

# Bulk: requests and batches made by hand from spec/sync.md §6.
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def bound(ts=None, prefix=b""):
    if ts is None:
        return varint(0)
    return varint(1 + ts) + bytes([len(prefix)]) + prefix


write("bulk", "request-first", b"\x02" + bound(0) + varint(64) + varint(65536))
write("bulk", "request-after", b"\x02" + bound(1_767_225_600_000, b"\xab\xcd") + varint(4096) + varint(4 << 20))
write("bulk", "request-infinity", b"\x02" + bound() + varint(1) + varint(1))
recs = [bytes.fromhex(v["signed_record"]) for v in records["valid"]][:3]
batch = b"\x03" + varint(len(recs)) + b"".join(varint(len(r)) + r for r in recs) + bound(1_767_225_600_001)
write("bulk", "batch-three", batch)
write("bulk", "batch-empty-end", b"\x03" + varint(0) + bound())

membership = load("membership.json")
def framed(parts):
    return b"".join(struct.pack(">H", len(p)) + p for p in parts)
for s in membership["scenarios"]:
    parts = [bytes.fromhex(s["charter"])] + [bytes.fromhex(r) for r in s["records"]]
    write("membership_view", s["name"], framed(parts))
for c in membership["charters"]:
    write("membership_view", f"charter-{c['name']}", framed([bytes.fromhex(c["charter"])]))

for line in (root / "node" / "data" / "sample" / "practices.jsonl").read_text().splitlines()[:40]:
    if line.strip():
        write("practice_row", json.loads(line).get("practice_id", "row"), line.encode())
write("practice_row", "example", (root / "node" / "data" / "examples" / "practice.json").read_bytes())

for d in sorted(seeds.iterdir()):
    print(f"{d.name}: {len(list(d.iterdir()))} seeds")
