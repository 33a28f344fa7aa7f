"""NLP core for the joint employment-support counter surveys.

Normalises and tokenizes Japanese free comments, detects "no comment"
answers, assigns comments to a catalog of named themes and discovers new
themes among the rest. Never imports the web application.
"""

__version__ = "0.1.0"

from .catalog import ThemeCatalog
from .nocomment import is_no_comment
from .pipeline import assign_themes
from .text import normalize
from .themes import ThemeDiscovery, class_tfidf
from .tokenizer import JapaneseTokenizer, tokenize

__all__ = [
    "JapaneseTokenizer",
    "ThemeCatalog",
    "ThemeDiscovery",
    "assign_themes",
    "class_tfidf",
    "is_no_comment",
    "normalize",
    "tokenize",
]
