"""ONNX Runtime query encoder for the bundled e5 (``KOTAE_EMBED_BACKEND``: ``onnx`` default, ``onnx-int8``).

Why: encoding the question was ~85% of a search on torch. The same float32 weights run by ONNX
Runtime (graph optimisations on, fused LayerNorm/GELU kernels, no autograd or Python module
dispatch) cost ~2.3x less CPU per query and per batch of queries, with vectors equal to torch's
to float rounding (cosine 1.0000), so the passages embedded by torch need no re-embedding
(bench/results/encoders.md). ``onnx-int8`` dynamically quantises the weights: faster still, but its
vectors sit at cosine ~0.98 and it lost gold-set points against float32 passages (bench/results/onnx.md, encoders.md).

Layout of the cache folder ``<model>-onnx-<precision>-<LAYOUT>``: ``model.onnx`` is the transformer taking
``inputs_embeds``; the word-embedding table (250k x 384, most of the model) is kept out of the graph
as ``word_embeddings.npy`` and memory-mapped, so opening the session reads ~90 MB instead of ~470 MB
and a lookup touches only the rows of the query's tokens. The tokenizer is the model's own
(a ``tokenizers.Tokenizer`` without truncation, shared with token counting).

Two graphs of the same float32 weights (fp32 only): ``model-small.onnx``, exported with eager
attention and rewritten by ``onnxruntime.transformers`` into fused Attention/SkipLayerNorm/BiasGelu
kernels, runs batches of up to SMALL_BATCH queries (a single user's question: ~10% less time per
query); ``model.onnx``, the plain export, runs larger batches (service/batch.py under load), where
the fused Attention kernel was 8-19% slower and cost 15% of c=16 throughput (bench/README.md).
Their vectors agree to float rounding (cosine 1.0000).

Pooling and normalisation are the model's: attention-masked mean, then L2.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .cache import CacheInvalid, load_verified

PRECISIONS = ("fp32", "int8")
_GRAPH = "model.onnx"
_SMALL_GRAPH = "model-small.onnx"
# Batches up to this size go to the fused graph (measured faster at 1 and 4 queries, slower at 16).
SMALL_BATCH = 4
# In the folder's name: two kotae versions sharing a cache each keep their own folder instead of
# rebuilding the other's in turn.
LAYOUT = "v2"
_EMBEDDINGS = "word_embeddings.npy"
# Vectors of the known probes must match the reference this closely (int8 is ~0.98 by nature).
_MIN_COSINE = {"fp32": 0.999, "int8": 0.97}


def _export(model, folder: Path, precision: str) -> None:
    """Export ``model`` (a loaded sentence-transformers BERT model) into ``folder``."""
    import torch

    transformer = model[0].auto_model.eval()
    if getattr(transformer.config, "model_type", None) != "bert":
        # XLM-R style models number positions from the input ids; BERT numbers them 0..n-1, which
        # is what a graph fed with inputs_embeds does.
        raise CacheInvalid(f"ONNX export supports BERT models, not {transformer.config.model_type!r}")
    words = transformer.embeddings.word_embeddings.weight.detach().cpu().numpy().astype(np.float32)
    # The bundled e5 is stored as float16: keep the table in float16 when that is exact (half the size).
    half = words.astype(np.float16)
    np.save(folder / _EMBEDDINGS, half if np.array_equal(half.astype(np.float32), words) else words)

    class Wrapper(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, inputs_embeds, attention_mask):
            return self.inner(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    sample = torch.zeros((2, 7, words.shape[1]), dtype=torch.float32)
    mask = torch.ones((2, 7), dtype=torch.int64)
    axes = {"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "last_hidden_state": {0: "batch", 1: "tokens"}}
    fp32 = folder / ("model-fp32.onnx" if precision == "int8" else _GRAPH)
    with torch.no_grad():
        torch.onnx.export(Wrapper(transformer), (sample, mask), str(fp32), input_names=["inputs_embeds", "attention_mask"],
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
    if precision == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(folder / _GRAPH), weight_type=QuantType.QInt8)
        fp32.unlink()
        return
    _export_small(Wrapper(transformer), (sample, mask), axes, folder)


def _export_small(wrapper, sample, axes: dict, folder: Path) -> None:
    """The fused graph for small batches: ONNX Runtime's BERT fusions only recognise the attention
    as written out by eager attention (the SDPA export hides it behind IsNaN/Where guards)."""
    import torch
    from onnxruntime.transformers import optimizer

    transformer = wrapper.inner
    previous = transformer.config._attn_implementation
    eager = folder / "model-eager.onnx"
    transformer.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            torch.onnx.export(wrapper, sample, str(eager), input_names=["inputs_embeds", "attention_mask"],
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
    finally:
        transformer.set_attn_implementation(previous)
    # opt_level 0: the fusions only; ONNX Runtime applies its own graph optimisations at load time.
    fused = optimizer.optimize_model(str(eager), model_type="bert", num_heads=transformer.config.num_attention_heads,
                                     hidden_size=transformer.config.hidden_size, opt_level=0)
    if fused.get_fused_operator_statistics().get("Attention", 0) != transformer.config.num_hidden_layers:
        raise CacheInvalid("ONNX Runtime's optimizer did not fuse every attention layer")
    fused.save_model_to_file(str(folder / _SMALL_GRAPH))
    eager.unlink()


class OnnxQueryEncoder:
    def __init__(self, folder: Path, tokenizer, max_tokens: int, threads: int | None = None):
        """``tokenizer``: a ``tokenizers.Tokenizer`` without padding or truncation (truncation here).
        Texts are right-stripped as the transformers wrapper does (same token ids, e5_small._tokenizer)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        # Every core, but waiting threads sleep instead of spinning: on a busy 2-core machine,
        # spinning workers took the core the event loop needed (bench/README.md).
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Smaller first blocks in ONNX Runtime's parallel loops, so both threads start sooner on the
        # small matrices of a short query: ~2.5% less per single query (7.99 -> 7.78 ms p50, paired,
        # load ~0.6), batches of 16 unchanged (114 -> 112 ms).
        options.add_session_config_entry("session.dynamic_block_base", "4")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.folder = folder
        self.session = ort.InferenceSession(str(folder / _GRAPH), options, providers=["CPUExecutionProvider"])
        small = folder / _SMALL_GRAPH
        self.small_session = (ort.InferenceSession(str(small), options, providers=["CPUExecutionProvider"])
                              if small.is_file() else self.session)
        self.words = np.load(folder / _EMBEDDINGS, mmap_mode="r")
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.pad_id = tokenizer.token_to_id("<pad>") or 0
        self._lock = threading.Lock()

    def _truncate(self, ids: list[int]) -> list[int]:
        # What the model's own truncation does for one sequence: keep <s> and the first tokens, end with </s>.
        return ids if len(ids) <= self.max_tokens else ids[: self.max_tokens - 1] + ids[-1:]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:  # one query batch at a time: the session already uses every core
            rows = [self._truncate(e.ids) for e in self.tokenizer.encode_batch([t.rstrip() for t in texts])]
            width = max(len(r) for r in rows)
            ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for i, r in enumerate(rows):
                ids[i, : len(r)] = r
                mask[i, : len(r)] = 1
            embeds = np.asarray(self.words[ids], dtype=np.float32)
            session = self.small_session if len(rows) <= SMALL_BATCH else self.session
            hidden = session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]
        weights = mask[..., None].astype(np.float32)
        vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return vectors.astype(np.float32)


def folder_for(model_folder: Path, precision: str) -> Path:
    return model_folder.with_name(f"{model_folder.name}-onnx-{precision}-{LAYOUT}")


def cache_source(source: dict[str, str], precision: str) -> dict[str, str]:
    """What the exported folder depends on: the model's packages, ONNX Runtime, precision and layout."""
    from importlib import metadata

    return {**source, "onnxruntime": metadata.version("onnxruntime"), "precision": precision, "layout": f"inputs_embeds-{LAYOUT}"}


def load(
    model_folder: Path,
    precision: str,
    max_tokens: int,
    source: dict[str, str],
    torch_model: Callable[[], object],
    reference: Callable[[list[str]], np.ndarray],
    query_prefix: str,
    tokenizer,
) -> OnnxQueryEncoder:
    """The encoder exported from the model in ``model_folder`` into ``<model_folder>-onnx-<precision>``.

    ``torch_model()`` gives the loaded sentence-transformers model (only called to export);
    ``reference(texts)`` gives an independent engine's query vectors for the known-vector check."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown ONNX precision {precision!r}")
    dest, src = folder_for(model_folder, precision), cache_source(source, precision)
    probes = ["確定申告の期限はいつですか？", "Who was the lead investor of the Series C?"]

    def _open(folder: Path, verify: bool) -> OnnxQueryEncoder:
        try:
            encoder = OnnxQueryEncoder(folder, tokenizer, max_tokens)
        except Exception as exc:  # an unreadable graph or tokenizer means the folder is bad
            raise CacheInvalid(f"ONNX Runtime cannot open it: {str(exc).splitlines()[0]}") from None
        if verify:
            texts = [query_prefix + p for p in probes]
            expected = reference(probes)
            # both graphs: the probes together (a batch) and one by one (the small-batch graph)
            together = encoder.encode(texts * (SMALL_BATCH // len(texts) + 1))[: len(texts)]
            alone = np.vstack([encoder.encode([t]) for t in texts])
            cos = float(min(np.min(np.sum(v * expected, axis=1)) for v in (together, alone)))
            if not cos >= _MIN_COSINE[precision]:
                raise CacheInvalid(f"{precision} query vectors differ from the reference (cosine {cos:.4f})")
        return encoder

    return load_verified(dest, build=lambda folder: _export(torch_model(), folder, precision), source=src, load=_open)
