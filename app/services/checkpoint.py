"""Signed checkpoints of the audit logs: an RFC 9162 (Certificate Transparency 2.0) style tree head.

The hash chains (app/services/audit.py) show an entry edited in place, but not a rewrite whose
hashes were all recomputed, a deleted tail or an emptied table: whoever can write the database can
redo the whole chain. A checkpoint anchors each log outside the database: a Merkle tree over its
entries (RFC 9162 section 2.1: leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right),
the entry being the canonical JSON the chain hashes) whose size and root hash, with a timestamp, are
signed with an Ed25519 key kept outside the database. Operators keep each checkpoint elsewhere;
`verify` recomputes the root of the first `tree_size` entries and compares, which also proves that
the log now is an append-only extension of the log then (the consistency of an older checkpoint with
today's log). To say *where* a log was changed, the checkpoint also holds the roots of aligned blocks
of entries (at most 256 blocks: one entry per block for logs up to 256 entries, 4,096 at a million);
the blocks combine into the root, so they are covered by it and by the signature.

Everything streams: a million entries take one pass and a stack of at most ~20 hashes per tree.
"""

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from app.services import audit

FORMAT = "registry-audit-checkpoint/1"
MAX_BLOCKS = 256
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


class CheckpointError(Exception):
    """A key or checkpoint that cannot be used (unreadable, malformed, not signed by the given key)."""


# --- RFC 9162 Merkle tree hashing ----------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Tree:
    """MTH(D[n]) of RFC 9162 built leaf by leaf: a stack of the perfect subtrees' roots (sizes strictly decreasing)."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []

    def add(self, node: bytes, weight: int = 1) -> None:
        """Append a leaf hash (weight 1) or the root of a perfect subtree of `weight` leaves, aligned on its size."""
        self.size += weight
        self._stack.append((weight, node))
        while len(self._stack) > 1 and self._stack[-1][0] == self._stack[-2][0]:
            (size, right), (_, left) = self._stack.pop(), self._stack.pop()
            self._stack.append((2 * size, node_hash(left, right)))

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        size, root = self._stack[-1]
        for _size, left in reversed(self._stack[:-1]):
            root = node_hash(left, root)
        return root


def merkle_root(items: Iterable[bytes]) -> bytes:
    """The RFC 9162 root of a list of entries (a convenience for tests and small logs)."""
    tree = Tree()
    for item in items:
        tree.add(leaf_hash(item))
    return tree.root()


def block_size(tree_size: int) -> int:
    """The smallest power of two that cuts `tree_size` entries into at most MAX_BLOCKS blocks."""
    size = 1
    while -(-tree_size // size) > MAX_BLOCKS:
        size *= 2
    return size


# --- keys -------------------------------------------------------------------------------------------


def keygen(path: Path) -> Ed25519PublicKey:
    """Write a new Ed25519 private key (PEM, mode 0600) to `path`, which must not exist yet."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb", opener=lambda p, flags: os.open(p, flags, 0o600)) as out:
        out.write(pem)
    return key.public_key()


def load_private(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"cannot read the signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} is not an Ed25519 private key")
    return key


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_text(key: Ed25519PublicKey) -> str:
    """The public key as operators copy it: base64 of its 32 raw bytes."""
    return base64.b64encode(public_raw(key)).decode()


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_raw(key)).hexdigest()[:16]


def load_public(value: str, *, files: bool = True) -> Ed25519PublicKey:
    """A public key given as base64 of its raw bytes, or (`files`) as a file holding that, a PEM public or private key."""
    text = value.strip()
    path = Path(text)
    if files and len(text) < 1000 and path.is_file():
        data = path.read_bytes()
        if b"PRIVATE KEY" in data:
            return load_private(path).public_key()
        if b"PUBLIC KEY" in data:
            key = serialization.load_pem_public_key(data)
            if not isinstance(key, Ed25519PublicKey):
                raise CheckpointError(f"{path} is not an Ed25519 public key")
            return key
        text = data.decode().strip()
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise CheckpointError("the public key must be base64 of 32 bytes (as `registry audit keygen` prints)"
                              + (", or a file holding it or a PEM key" if files else "")) from None


# --- checkpoints ------------------------------------------------------------------------------------


@dataclass
class _Block:
    first: int
    last: int
    tree: Tree = field(default_factory=Tree)


def _head(session: Session, log: str) -> dict[str, Any]:
    """The tree head of one log as it stands: size, root, id range, last chain hash and block roots."""
    count, upto = audit.extent(session, log)
    size = block_size(count)
    tree, block, blocks = Tree(), Tree(), []
    first = last = block_first = None
    last_hash = audit.GENESIS
    for entry in audit.entries(session, log, upto=upto):  # entries appended meanwhile wait for the next checkpoint
        node = leaf_hash(audit.canonical(entry.content).encode("utf-8"))
        tree.add(node)
        block.add(node)
        first = entry.pos if first is None else first
        block_first = entry.pos if block_first is None else block_first
        last, last_hash = entry.pos, entry.hash
        if block.size == size:
            blocks.append([block_first, last, block.size, block.root().hex()])
            block, block_first = Tree(), None
    if block.size:
        blocks.append([block_first, last, block.size, block.root().hex()])
    return {"tree_size": tree.size, "root_hash": tree.root().hex(), "first_id": first, "last_id": last,
            "last_chain_hash": last_hash, "block_size": size, "blocks": blocks}


def _signed_bytes(document: dict[str, Any]) -> bytes:
    body = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def create(session: Session, key: Ed25519PrivateKey) -> dict[str, Any]:
    """A signed tree head of both logs as they stand now (one streaming pass over each)."""
    public = key.public_key()
    document: dict[str, Any] = {
        "format": FORMAT,
        "timestamp": datetime.now(UTC).isoformat(),
        "key_id": key_id(public),
        "public_key": public_text(public),
        "hash": "RFC 9162 Merkle tree, SHA-256; leaf = canonical JSON of the entry",
        "logs": {log: _head(session, log) for log in audit.LOGS},
    }
    document["signature"] = base64.b64encode(key.sign(_signed_bytes(document))).decode()
    return document


def check_signature(document: dict[str, Any], public: Ed25519PublicKey) -> None:
    """Raise CheckpointError unless `document` is a checkpoint signed by `public` and consistent in itself."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"not a checkpoint of this registry (format {FORMAT!r} expected)")
    if document.get("key_id") != key_id(public):
        raise CheckpointError(f"the checkpoint was signed by key {document.get('key_id')!r}, not by the given key "
                              f"{key_id(public)!r}")
    try:
        public.verify(base64.b64decode(str(document.get("signature", "")), validate=True), _signed_bytes(document))
    except (InvalidSignature, ValueError):
        raise CheckpointError("the checkpoint's signature does not verify with the given public key: "
                              "forged, or altered after it was signed") from None
    for log in audit.LOGS:
        head = document.get("logs", {}).get(log)
        if not isinstance(head, dict):
            raise CheckpointError(f"the checkpoint has no tree head for the {log} log")
        combined = Tree()
        for _first, _last, size, root in head["blocks"]:
            combined.add(bytes.fromhex(root), size)
        if combined.size != head["tree_size"] or combined.root().hex() != head["root_hash"]:
            raise CheckpointError(f"the {log} tree head's blocks do not make up its root hash")


def _where(log: str, first: int, last: int) -> str:
    """Entries by their place in the chain (`seq`, in both logs: an access-log entry gets its seq when sealed)."""
    return f"seq {first}" if first == last else f"seq {first}..{last}"


def compare(session: Session, document: dict[str, Any]) -> tuple[list[audit.Finding], dict[str, int]]:
    """Each place where the logs no longer match the checkpoint, and how many entries were appended since."""
    findings: list[audit.Finding] = []
    appended: dict[str, int] = {}
    for log in audit.LOGS:
        head = document["logs"][log]
        problems, appended[log] = _compare_log(session, log, head)
        findings += problems
    return findings, appended


def _compare_log(session: Session, log: str, head: dict[str, Any]) -> tuple[list[audit.Finding], int]:
    blocks = [_Block(first, last) for first, last, _size, _root in head["blocks"]]
    last_id = head["last_id"]
    tree, strays, appended, index, present_last = Tree(), [], 0, 0, None
    for entry in audit.entries(session, log):
        if last_id is None or entry.pos > last_id:
            appended += 1
            continue
        node = leaf_hash(audit.canonical(entry.content).encode("utf-8"))
        tree.add(node)
        present_last = entry.pos
        while index < len(blocks) and blocks[index].last < entry.pos:
            index += 1
        if index < len(blocks) and blocks[index].first <= entry.pos:
            blocks[index].tree.add(node)
        else:
            strays.append(entry.pos)
    if tree.size == head["tree_size"] and tree.root().hex() == head["root_hash"]:
        return [], appended
    findings: list[audit.Finding] = []
    covered = _where(log, head["first_id"], last_id) if last_id is not None else "nothing"
    if tree.size == 0:
        findings.append(audit.Finding(log, head["first_id"], f"the log holds none of the {head['tree_size']} entries the "
                                      f"checkpoint covers ({covered}): deleted or truncated"))
    elif present_last is not None and present_last < last_id:
        findings.append(audit.Finding(log, present_last, f"the log now ends at {_where(log, present_last, present_last)} "
                                      f"where the checkpoint covers up to {_where(log, last_id, last_id)}: its tail "
                                      "was deleted"))
    for stray in strays:
        findings.append(audit.Finding(log, stray, f"{_where(log, stray, stray)} is not in the checkpoint: inserted "
                                      "into the range it covers"))
    for block, (first, last, size, root) in zip(blocks, head["blocks"], strict=True):
        if block.tree.size == size and block.tree.root().hex() == root:
            continue
        where = _where(log, first, last)
        if block.tree.size < size:
            what = f"{size - block.tree.size} of the {size} entries at {where} deleted" if size > 1 else \
                f"the entry at {where} deleted"
        elif block.tree.size > size:
            what = f"{block.tree.size - size} entries inserted at {where}"
        else:
            what = f"the entry at {where} rewritten" if size == 1 else \
                f"an entry at {where} rewritten (the hash chain's findings, if any, name which)"
        findings.append(audit.Finding(log, first, f"{what} since the checkpoint"))
    if not findings:
        findings.append(audit.Finding(log, head["first_id"] or 0, "the entries the checkpoint covers no longer hash to its "
                                      "root"))
    return findings, appended
