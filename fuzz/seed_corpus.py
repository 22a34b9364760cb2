"""Writes the spec's vectors into fuzz/corpus/signed_record/ as seeds."""
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
out = root / "fuzz" / "corpus" / "signed_record"
out.mkdir(parents=True, exist_ok=True)
vectors = json.loads((root / "spec" / "vectors" / "records.json").read_text())
for group in ("valid", "invalid"):
    for v in vectors[group]:
        name = v["name"]
        (out / f"{group}-{name}").write_bytes(bytes.fromhex(v["signed_record"]))
