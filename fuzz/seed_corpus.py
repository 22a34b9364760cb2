"""Writes the spec's vectors (and, for `config`, setu.toml files) into
fuzz/seeds/<target>/ as seed inputs.

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

# Config: `setu.toml` files. The one `setu init` writes, from the template
# in crates/setu-config/src/lib.rs (its {placeholders} are Rust's format
# arguments), plain and with a charter; one with every key set; edge ones.
lib = (root / "crates" / "setu-config" / "src" / "lib.rs").read_text()
template = lib.split("pub fn template(")[1].split('r#"', 1)[1].split('"#', 1)[0]
init_toml = template.format(
    country='"BGD"', agency='"a2i"', key='"publisher.pem"', cache=32, skew=600,
    min_free=64, net='"setu-main"', listen='"/ip4/0.0.0.0/tcp/7000"',
    quic='"/ip4/0.0.0.0/udp/7000/quic-v1"', interval=60, api='"127.0.0.1:7180"')
write("config", "init", init_toml.encode())
write("config", "init-charter",
      init_toml.replace('# charter = "charter.cbor"', 'charter = "charter.cbor"', 1).encode())
# The template with every commented-out key that has a real value set to it.
uncommented = "\n".join(
    l[2:] if l.startswith("# ") and " = " in l and "<" not in l and "..." not in l
    and not l.startswith("# key_passphrase_env") else l
    for l in init_toml.splitlines())
write("config", "init-uncommented", uncommented.encode())
relay = "/ip4/192.0.2.10/tcp/7000/p2p/12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X"
write("config", "full", f"""[publisher]
country = "RWA"
agency = "Rwanda \\"Agriculture\\" Board \\\\ ministry"
key_file = "keys/board.pem"
key_passphrase_env = "SETU_KEY_PASSPHRASE"

[store]
cache_mb = 128
max_future_skew_secs = 3600
min_free_mb = 0

[network]
name = "rw-pilot-2"
charter = "charter.cbor"
listen = ["/ip4/0.0.0.0/tcp/7001", "/ip6/::/udp/7001/quic-v1"]
bootstrap = ["{relay}"]
mdns = false
sync_interval_secs = 30
allow_authors = ["{1:064x}"]
quota_records_per_hour = 1000
quota_bytes_per_hour = 50000000
relay = true
relays = ["{relay}"]
kademlia = false

[api]
listen = "[::1]:8080"
cors_origins = ["https://portal.example.gov", "http://127.0.0.1:8080"]
public_url = "https://setu.example.gov/"
admin_email = "ops@example.gov"

[policy]
mute = ["member-7"]
trust = ["{255:064x}"]
""".encode())
TQ = "'" * 3  # a TOML multi-line literal string's quotes
for name, text in [
    ("empty", ""),
    ("comments", "# nothing set\n\n# [store]\n"),
    ("limits-low", "[store]\ncache_mb = 8\nmin_free_mb = 0\nmax_future_skew_secs = 0\n"
                   "[network]\nsync_interval_secs = 1\nname = \"a\"\n"),
    ("limits-high", "[store]\ncache_mb = 65536\nmin_free_mb = 1048576\nmax_future_skew_secs = 604800\n"
                    "[network]\nname = \"" + "a" * 32 + "\"\n"
                    "quota_records_per_hour = 0xffffffffffffffff\n"
                    "quota_bytes_per_hour = 18446744073709551615\n"),
    ("inline-and-dotted", "publisher = { country = \"BGD\", agency = 'a2i' }\nstore.cache_mb = 64\n"
                          "network.allow_authors = []\n[api]\nlisten = \"0.0.0.0:80\"\n"),
    ("strings", "[publisher]\nagency = \"\"\"\nCafe\\u0301 \\t board\n\"\"\"\n"
                "key_file = " + TQ + "k\\e\"y.pem" + TQ + "\n"
                "[policy]\nmute = [\"m\u00e9mber\", 'x', \"\"\"y\"\"\"]\n"),
    ("crlf", "[publisher]\r\ncountry = \"KEN\"\r\n[network]\r\nmdns = true\r\n"),
    ("policy-trust", "[policy]\ntrust = [" + ", ".join(f'"{i:064x}"' for i in range(4)) + "]\n"),
    ("bad-unknown-key", "[store]\ncache_megabytes = 3\n"),
    ("bad-value", "[store]\ncache_mb = 1\n"),
    ("bad-type", "[network]\nlisten = \"/ip4/0.0.0.0/tcp/7000\"\n"),
    ("bad-table-array", "[[policy]]\nmute = []\n"),
]:
    write("config", name, text.encode())

for d in sorted(seeds.iterdir()):
    print(f"{d.name}: {len(list(d.iterdir()))} seeds")
