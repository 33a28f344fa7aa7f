"""Shared fixtures for the analysis tests: the labelled dev comments and fitted models."""

from pathlib import Path

import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEV_COMMENTS = REPO_ROOT.parent / "shared" / "data" / "dev_comments.csv"
DEV_MULTILABEL = REPO_ROOT.parent / "shared" / "data" / "dev_multilabel.csv"


@pytest.fixture(scope="session")
def dev_comments():
    """The 372 labelled dev comments (skips when ../shared is absent)."""
    if not DEV_COMMENTS.exists():
        pytest.skip(f"dev comments not found at {DEV_COMMENTS}")
    return pd.read_csv(DEV_COMMENTS)


@pytest.fixture(scope="session")
def dev_multilabel():
    """The 480 multi-labelled dev comments (skips when ../shared is absent)."""
    if not DEV_MULTILABEL.exists():
        pytest.skip(f"multi-label dev comments not found at {DEV_MULTILABEL}")
    return pd.read_csv(DEV_MULTILABEL, keep_default_na=False)


@pytest.fixture(scope="session")
def fitted_discovery(dev_comments):
    from analysis import ThemeDiscovery

    return ThemeDiscovery(random_state=0).fit(dev_comments["comment"])


@pytest.fixture(scope="session")
def default_catalog():
    from analysis import ThemeCatalog

    return ThemeCatalog.load()
