"""The fitted-model cache behind ThemeCatalog.load and ThemeCatalog.from_dict."""

import json
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import analysis.catalog as catalog_module
from analysis.catalog import CACHE_ENV, ThemeCatalog
from analysis.features import analyze_comments

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAINING = pd.DataFrame({
    "comment": ["駐車場が狭い", "駐車場が広くて助かる", "土日も開けてほしい", "土曜に開いていて便利",
                "職員さんが親切でした", "職員の態度が冷たい", "親切だけど駐車場が狭い",
                "土日に開いていてうれしいが、駐車場が足りない"],
    "labels": ["T11:R", "T11:P", "T08:R", "T08:P", "T01:P", "T01:R", "T01:P;T11:R", "T08:P;T11:R"],
})
TEXTS = ["職員さんは親切だけど駐車場が狭い", "夜も開けてほしい", "駐車場が足りない。土日も開けて"]


@pytest.fixture(scope="module")
def contents():
    return ThemeCatalog.train(TRAINING, names={"T01": "対応", "T08": "開庁", "T11": "施設"}).to_dict()


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "models"
    monkeypatch.setenv(CACHE_ENV, str(directory))
    return directory


@pytest.fixture
def fits(monkeypatch):
    """Count the real fits (each one still runs)."""
    calls = []
    fit = ThemeCatalog.fit

    def counted(self):
        calls.append(self)
        return fit(self)

    monkeypatch.setattr(ThemeCatalog, "fit", counted)
    return calls


def _found(catalog):
    return catalog.mentions(analyze_comments(TEXTS))


def _entries(directory):
    return sorted(directory.glob("catalog-*.pkl"))


def test_a_missing_cache_is_filled_and_the_next_load_reads_it(cache_dir, contents, fits):
    expected = _found(ThemeCatalog.from_dict(contents, cache=False))
    assert len(fits) == 1 and not cache_dir.exists()
    first = ThemeCatalog.from_dict(contents)
    assert len(fits) == 2
    [entry] = _entries(cache_dir)
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700 and stat.S_IMODE(entry.stat().st_mode) == 0o600
    second = ThemeCatalog.from_dict(contents)
    assert len(fits) == 2  # read back, not fitted
    assert _found(first) == _found(second) == expected
    assert list(cache_dir.iterdir()) == [entry]  # no partial file left behind


def test_a_broken_or_stale_cache_file_is_fitted_again_and_replaced(cache_dir, contents, fits):
    expected = _found(ThemeCatalog.from_dict(contents))
    [entry] = _entries(cache_dir)
    entry.write_bytes(b"\x80\x05 not a whole pickle")
    assert _found(ThemeCatalog.from_dict(contents)) == expected
    assert len(fits) == 2
    ThemeCatalog.from_dict(contents)
    assert len(fits) == 2  # the rewritten file is good

    # A model of other contents under this name (a copied or hand-edited file) is stale.
    other = json.loads(json.dumps(contents))
    other["examples"] = other["examples"][:-2]
    ThemeCatalog.from_dict(other)
    [stale] = [e for e in _entries(cache_dir) if e != entry]
    entry.write_bytes(stale.read_bytes())
    assert _found(ThemeCatalog.from_dict(contents)) == expected
    assert len(fits) == 4
    ThemeCatalog.from_dict(contents)
    assert len(fits) == 4


def test_the_cache_key_follows_what_the_fit_depends_on(contents, monkeypatch):
    key = ThemeCatalog.from_dict(contents, cache=False)._model_key()
    edited = json.loads(json.dumps(contents))
    edited["themes"][0]["seed_words"] = ["駐車場"]
    assert ThemeCatalog(edited["themes"], examples=edited["examples"])._model_key() != key
    # The version, dates and main-point threshold are read at prediction time, not fitted.
    relabelled = ThemeCatalog(contents["themes"], version="other", created_at="2020-01-01T00:00:00+00:00",
                              threshold=0.2, examples=contents["examples"])
    assert relabelled._model_key() == key
    monkeypatch.setattr(catalog_module, "_environment_fingerprint", lambda: "other code or libraries")
    assert ThemeCatalog.from_dict(contents, cache=False)._model_key() != key


def test_a_cache_file_that_others_can_write_is_never_unpickled(cache_dir, contents, fits):
    ThemeCatalog.from_dict(contents)
    [entry] = _entries(cache_dir)
    entry.chmod(0o666)
    ThemeCatalog.from_dict(contents)
    assert len(fits) == 2


def test_without_a_usable_cache_directory_the_catalog_still_loads(tmp_path, contents, fits, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "models"))
    assert _found(ThemeCatalog.from_dict(contents)) == _found(ThemeCatalog.from_dict(contents))
    monkeypatch.setenv(CACHE_ENV, "")  # empty: no cache at all
    ThemeCatalog.from_dict(contents)
    assert len(fits) == 3


def test_processes_loading_at_once_share_one_cache_file(tmp_path, contents):
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(contents, ensure_ascii=False), encoding="utf-8")
    script = ("import json, sys\nfrom analysis.catalog import ThemeCatalog\nfrom analysis.features import analyze_comments\n"
              f"found = ThemeCatalog.load(sys.argv[1]).mentions(analyze_comments({TEXTS!r}))\n"
              "print(json.dumps(found))\n")
    env = {**os.environ, CACHE_ENV: str(tmp_path / "models"), "PYTHONPATH": str(REPO_ROOT)}
    runs = [subprocess.Popen([sys.executable, "-c", script, str(catalog_file)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    assert json.loads(outputs[0][0]) == json.loads(json.dumps(_found(ThemeCatalog.from_dict(contents, cache=False))))
    assert [p.name for p in (tmp_path / "models").iterdir()] == [p.name for p in _entries(tmp_path / "models")]
    assert len(_entries(tmp_path / "models")) == 1


def test_predicting_leaves_the_fitted_state_unchanged(contents):
    catalog = ThemeCatalog.from_dict(contents, cache=False)

    def state():
        return pickle.dumps({name: getattr(catalog, name) for name in catalog._FITTED})

    before = state()
    catalog.mentions(analyze_comments(TEXTS))
    catalog.assign(TEXTS + ["特になし"])
    catalog.predict_proba(analyze_comments(TEXTS))
    assert state() == before


def test_a_catalog_that_was_not_fitted_says_so(contents):
    catalog = ThemeCatalog(contents["themes"], examples=contents["examples"])
    with pytest.raises(NotFittedError, match="fit"):
        catalog.mentions(analyze_comments(TEXTS))
    assert catalog.fit().codes == [t["code"] for t in contents["themes"]]
