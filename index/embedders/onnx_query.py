"""ONNX Runtime int8 query encoder for a sentence-transformers model (``KOTAE_EMBED_BACKEND=onnx``).

The transformer of the loaded model is exported once to ONNX (torch.onnx, no extra library),
dynamically quantised to int8 weights (onnxruntime.quantization), and cached beside the model
folder, checked like every other cached model. Queries are then encoded by one ONNX Runtime
session with ONE intra-op thread: a single short query gains little from a second thread, and on
a busy 2-core machine OpenMP threads spinning against each other made torch's 2-thread query
encoding ~8× slower than one thread (bench/README.md). Passages (ingest) stay on torch.

Pooling and normalisation are the model's: attention-masked mean, then L2.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from .cache import CacheInvalid, load_verified

ONNX_FILE = "model-int8.onnx"
_FP32 = "model-fp32.onnx"


def _export(model, folder: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    transformer = model[0].auto_model.eval()
    tok = model.tokenizer(["query: export sample", "query: 二つ目の例文です"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tok]
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "tokens"}

    class Wrapper(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            return self.inner(**dict(zip(names, args))).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(Wrapper(transformer), tuple(tok[n] for n in names), str(folder / _FP32), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
    quantize_dynamic(str(folder / _FP32), str(folder / ONNX_FILE), weight_type=QuantType.QInt8)
    (folder / _FP32).unlink()


class OnnxQueryEncoder:
    def __init__(self, path: Path, tokenizer, max_tokens: int, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self._lock = threading.Lock()  # HF fast tokenizers are not safe to call concurrently

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_tokens, return_tensors="np")
        feeds = {n: np.asarray(enc[n], dtype=np.int64) for n in self.inputs}
        hidden = self.session.run(None, feeds)[0]
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        vectors = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return vectors.astype(np.float32)


def load(model, model_folder: Path, max_tokens: int, source: dict[str, str]) -> OnnxQueryEncoder:
    """The int8 encoder for ``model`` (loaded from ``model_folder``), exported on first use into
    ``<model_folder>-onnx-int8`` and checked against the torch model on a known query."""
    import onnxruntime

    dest = model_folder.with_name(model_folder.name + "-onnx-int8")
    src = {**source, "onnxruntime": onnxruntime.__version__, "quantization": "dynamic-qint8"}

    def _open(folder: Path) -> OnnxQueryEncoder:
        encoder = OnnxQueryEncoder(folder / ONNX_FILE, model.tokenizer, max_tokens)
        probe = ["query: 確定申告の期限はいつですか？", "query: Who founded the company?"]
        want = np.asarray(model.encode(probe, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)
        cos = float(np.min(np.sum(encoder.encode(probe) * want, axis=1)))
        if cos < 0.97:
            raise CacheInvalid(f"int8 query vectors differ from the model's (cosine {cos:.3f})")
        return encoder

    return load_verified(dest, build=lambda folder: _export(model, folder), source=src, load=_open)
