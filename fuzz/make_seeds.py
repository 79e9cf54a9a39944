#!/usr/bin/env python3
"""Writes the seed corpora of hunyu's fuzz targets from real artefacts, and seeds/demo-keys.json.

Usage: fuzz/make_seeds.py DEMO_DIR

DEMO_DIR is the folder of a finished `hunyu demo --no-serve --dir DEMO_DIR` run (see
fuzz/README.md). Its certificates, QR texts, employer presentations, messages, receipts and
trust directory become seeds, next to the repository's own test vectors (tests/data). Only public
keys of the demo leave DEMO_DIR (into seeds/demo-keys.json, so that the demo's tokens verify in
the targets); the demo's private keys stay where they are.

Each seed is written as corpus/<target>/seed-<name>; existing files are kept, so the corpus that
fuzzing grew stays. Standard library only.
"""

import base64
import csv
import json
import sqlite3
import sys
import zlib
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
VECTORS = REPO / "tests" / "data" / "vectors"


def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def payload_of(token):
    return b64d(token.split(".")[1])


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class Seeds:
    def __init__(self):
        self.count = {}

    def add(self, target, name, data):
        if isinstance(data, str):
            data = data.encode()
        folder = FUZZ / "corpus" / target
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"seed-{name}").write_bytes(data)
        self.count[target] = self.count.get(target, 0) + 1


def rows(db, query):
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    demo = Path(sys.argv[1])
    origin, residence = demo / "origin", demo / "residence"
    seeds = Seeds()

    # Public keys of the demo run, for the targets' trust store.
    names = {n["code"]: n["name"] for n in json.loads((demo / "demo.json").read_text())["nodes"]}
    nodes = []
    for folder in (origin, residence):
        keys = json.loads((folder / "jwks.json").read_text())["keys"]
        code = keys[0]["kid"].split("#")[0]
        nodes.append({"code": code, "name": names.get(code, code), "keys": keys})
    root = json.loads((origin / "registry-root.jwk.json").read_text())
    keys_file = FUZZ / "seeds" / "demo-keys.json"
    keys_file.parent.mkdir(exist_ok=True)
    keys_file.write_text(json.dumps({"root": root, "nodes": nodes}, ensure_ascii=False, indent=1) + "\n")

    # Certificates: token, QR text, employer presentation token and QR text of each version.
    versions = rows(origin / "hunyu.db", "select token, qr, employer_token, employer_qr from certificate_versions")
    for n, (token, qr, employer_token, employer_qr) in enumerate(versions):
        seeds.add("qr", f"certificate-{n}", qr)
        seeds.add("qr", f"presentation-{n}", employer_qr)
        seeds.add("jws", f"certificate-{n}", token)
        seeds.add("jws", f"presentation-{n}", employer_token)
        seeds.add("jws", f"certificate-payload-{n}", payload_of(token))
        seeds.add("jws", f"presentation-payload-{n}", payload_of(employer_token))
        certificate = json.loads(payload_of(token))
        draft = {k: certificate[k] for k in ("person", "marital", "children", "contraception") if k in certificate}
        seeds.add("certificate_draft", f"demo-{n}", compact(draft))
        seeds.add("certificate_draft", f"person-ref-{n}", compact(
            {"id_number": certificate["person"]["id_number"], "name": certificate["person"]["name"]}))
        seeds.add("id_number", f"demo-holder-{n}", certificate["person"]["id_number"])
        answer = {"iss": certificate["iss"], "aud": "440306001000", "iat": certificate["iat"],
                  "in_reply_to": "01a23582-3d16-75c2-8a0b-8b3582679750",
                  "certificates": [{"token": token, "qr": qr}]}
        seeds.add("lookup", f"answer-payload-{n}", compact(answer))
        seeds.add("lookup", f"request-payload-{n}", compact({
            "iss": "440306001000", "aud": certificate["iss"], "jti": "01a23582-3d16-75c2-8a0b-8b3582679751",
            "iat": certificate["iat"], "id_number": certificate["person"]["id_number"]}))
        seeds.add("status", f"answer-payload-{n}", compact({
            "iss": certificate["iss"], "aud": "440306001000", "iat": certificate["iat"],
            "nonce": "01a23582-3d16-75c2-8a0b-8b3582679752", "version": certificate["jti"],
            "issued": True, "statuses": ["superseded"] if n % 2 else []}))
    jtis = [json.loads(payload_of(v[0]))["jti"] for v in versions]
    seeds.add("status", "list-payload", compact({
        "iss": "130728102000", "iat": 1796194060, "exp": 1796280460,
        "entries": [{"jti": jti, "status": ["revoked", "superseded"][i % 2]} for i, jti in enumerate(jtis)]}))
    seeds.add("status", "list-payload-empty", compact(
        {"iss": "440306001000", "iat": 1796194060, "exp": 1796280460, "entries": []}))
    seeds.add("status", "certificate-token-wrong-typ", versions[0][0])

    # Messages and receipts, both ways, as batches and as signed-here payload lists.
    for side, folder in (("origin", origin), ("residence", residence)):
        for direction in ("in", "out"):
            found = rows(folder / "hunyu.db",
                         f"select token, receipt from messages where direction = '{direction}' order by seq")
            if not found:
                continue
            tokens = [t for t, _ in found]
            receipts = [r for _, r in found if r]
            seeds.add("batch", f"{side}-{direction}-messages", compact({"messages": tokens}))
            if receipts:
                seeds.add("batch", f"{side}-{direction}-receipts", compact({"receipts": receipts}))
            seeds.add("batch", f"{side}-{direction}-payloads", b"[" + b",".join(payload_of(t) for t in tokens) + b"]")
            if receipts:
                seeds.add("batch", f"{side}-{direction}-receipt-payloads",
                          b"[" + b",".join(payload_of(r) for r in receipts) + b"]")
            seeds.add("lookup", f"message-token-wrong-typ-{side}-{direction}", tokens[0])
    messages_v1 = json.loads((REPO / "tests" / "data" / "messages-v1.json").read_text())
    seeds.add("batch", "messages-v1", compact(messages_v1))
    seeds.add("batch", "empty", b'{"messages":[],"receipts":[]}')

    # The trust directory.
    directory = (demo / "registry" / "directory.jws").read_text().strip()
    seeds.add("directory", "demo", directory)
    seeds.add("directory", "demo-payload", payload_of(directory))

    # Test vectors: tokens made by an independent implementation, and their payload.
    with open(VECTORS / "tokens.csv", newline="") as f:
        for row in csv.DictReader(f):
            seeds.add("jws", f"vector-{row['name']}", row["token"])
            if row["name"] == "valid_zip":
                seeds.add("jws", "vector-valid_zip-deflated", b"~" + payload_of(row["token"]))
    seeds.add("jws", "vector-payload", compact(json.loads((VECTORS / "certificate.payload.json").read_text())))
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    seeds.add("jws", "deflated-bomb", b"~" + deflater.compress(b"{" + b" " * 100000 + b"}") + deflater.flush())
    for name, text in (("empty", "HY1:"), ("short", "HY1:00"), ("overflow", "HY1:GGW"), ("remainder", "HY1:FGW")):
        seeds.add("qr", name, text)

    # ID numbers of the repository's table, valid and not.
    with open(REPO / "tests" / "data" / "id_numbers.csv", newline="") as f:
        for n, row in enumerate(csv.DictReader(f)):
            seeds.add("id_number", f"table-{n}", row["id_number"])

    for target, count in sorted(seeds.count.items()):
        print(f"{target}: {count} seeds")
    print(f"wrote {keys_file.relative_to(REPO)}")


if __name__ == "__main__":
    main()
