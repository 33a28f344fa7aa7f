"""NLP core for the joint employment-support counter surveys.

Normalises and tokenizes Japanese free comments, detects "no comment"
answers, assigns comments to a catalog of named themes and discovers new
themes among the rest. Never imports the web application.

The names below are imported on first use (module ``__getattr__``), so that
``import analysis`` stays cheap: fugashi, scikit-learn and pandas load only
when a function that needs them is called.
"""

import importlib

__version__ = "0.1.0"

# Public name -> submodule defining it.
_EXPORTS = {
    "JapaneseTokenizer": "tokenizer",
    "ThemeCatalog": "catalog",
    "ThemeDiscovery": "themes",
    "assign_themes": "pipeline",
    "class_tfidf": "themes",
    "is_no_comment": "nocomment",
    "mask_personal_data": "masking",
    "normalize": "text",
    "tokenize": "tokenizer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
