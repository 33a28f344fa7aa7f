"""Cross-validated quality of a theme catalog: the figures shown before a catalog is published.

The same measures as ``benchmarks/bench_mentions.py`` (which imports them from here): theme
mention micro-F1, polarity accuracy, main point, exact label set and no-comment F1, over
predicted mention lists against labelled ones.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import time

from sklearn.model_selection import KFold

from .mentions import parse_labels
from .parallel import can_fork, effective_n_jobs

__all__ = ["FIGURES", "cross_validate_catalog", "mention_lists", "score_mentions"]

# The figures of score_mentions shown next to each other, with their Japanese names.
FIGURES = {
    "micro_f1": "テーマ検出 micro-F1",
    "polarity": "評価・要望の正解率",
    "main": "主な論点の正解率",
    "exact": "ラベルの完全一致",
    "no_comment_f1": "「特になし」の F1",
}
MIN_EXAMPLES_PER_FOLD = 2


def score_mentions(gold, predicted, no_comment):
    """The mention measures of predicted mention lists against gold ones.

    Parameters
    ----------
    gold, predicted : list of list of (str, str)
        Per comment, ``(theme_id, polarity)`` in order, main point first; an
        empty list for no content (gold) or no mention (predicted).
    no_comment : list of bool
        Per comment, whether the pipeline found it says nothing.

    Returns
    -------
    dict
        ``micro_f1``, ``precision``, ``recall`` over (comment, theme) pairs
        ignoring polarity; ``polarity`` (accuracy on the mentions found that
        are gold); ``main`` (the first mention is a gold theme); ``exact``
        (same set with polarity); ``no_comment_f1`` (no content positive;
        None when no gold comment is without content, as in a catalog's own
        examples).
    """
    tp = fp = fn = polarity_ok = exact = main_ok = main_n = 0
    nc_tp = nc_fp = nc_fn = 0
    for truth, guess, said_nothing in zip(gold, predicted, no_comment):
        truth_of, guess_of = dict(truth), dict(guess)
        found = set(truth_of) & set(guess_of)
        tp, fp, fn = tp + len(found), fp + len(set(guess_of) - found), fn + len(set(truth_of) - found)
        polarity_ok += sum(truth_of[c] == guess_of[c] for c in found)
        exact += set(truth) == set(guess)
        nc_tp += not truth and said_nothing
        nc_fp += bool(truth) and said_nothing
        nc_fn += not truth and not said_nothing
        if truth:
            main_n += 1
            main_ok += bool(guess) and guess[0][0] in truth_of
    has_no_content = any(not truth for truth in gold)
    return {
        "micro_f1": 2 * tp / max(2 * tp + fp + fn, 1),
        "precision": tp / max(tp + fp, 1),
        "recall": tp / max(tp + fn, 1),
        "polarity": polarity_ok / max(tp, 1),
        "main": main_ok / max(main_n, 1),
        "no_comment_f1": 2 * nc_tp / max(2 * nc_tp + nc_fp + nc_fn, 1) if has_no_content else None,
        "exact": exact / max(len(gold), 1),
    }


def mention_lists(mentions, n):
    """Per input row, the ``(theme_id, polarity)`` list of a mentions frame, in rank order.

    Parameters
    ----------
    mentions : pandas.DataFrame
        The ``mentions`` of :func:`analysis.pipeline.assign_themes`.
    n : int
        Number of input rows.

    Returns
    -------
    list of list of (str, str)
    """
    lists = [[] for _ in range(n)]
    for row in mentions.sort_values(["row", "rank"]).itertuples():
        lists[row.row].append((row.theme_id, row.polarity))
    return lists


def _fold(catalog, examples, train, test):
    """Train on ``train`` (plus the themes' own examples), theme ``test``: (mention lists, no-comment flags)."""
    from .catalog import DEFAULT_THRESHOLD, ThemeCatalog
    from .mentions import MENTION_THRESHOLD
    from .pipeline import assign_themes

    fold = ThemeCatalog(
        catalog["themes"], version=catalog.get("version"), examples=[examples[i] for i in train],
        threshold=catalog.get("threshold", DEFAULT_THRESHOLD),
        mention_threshold=catalog.get("mention_threshold", MENTION_THRESHOLD)).fit()
    assignments, _, mentions = assign_themes([examples[i]["comment"] for i in test], catalog=fold, discover=False)
    return mention_lists(mentions, len(test)), list(assignments["source"] == "no_comment")


# Set for the lifetime of one parallel cross-validation; forked workers read it instead of unpickling it.
_folds_state = None


def _run_fold(number):
    catalog, examples, splits = _folds_state
    return number, _fold(catalog, examples, *splits[number])


def cross_validate_catalog(catalog, n_splits=5, random_state=0, progress=None, n_jobs=1):
    """K-fold figures of a catalog on its own multi-point examples.

    Each fold trains a catalog on the other folds' examples plus every
    theme's own examples and seed words (which are never held out), with the
    catalog's thresholds, and themes the held-out comments with
    :func:`analysis.pipeline.assign_themes` (no discovery).

    Parameters
    ----------
    catalog : dict
        A catalog in its JSON form (:meth:`analysis.catalog.ThemeCatalog.to_dict`).
    n_splits : int, default=5
    random_state : int, default=0
        Seed of the fold split: the same for every version, so figures compare.
    progress : callable, optional
        Called with ``(folds done, n_splits)`` after each fold.
    n_jobs : int, default=1
        Folds trained at once in forked processes (-1: every core); the figures do not depend on it.

    Returns
    -------
    dict
        :func:`score_mentions` figures plus ``n_examples``, ``n_splits`` and
        ``seconds``.

    Raises
    ------
    ValueError
        With fewer than two examples per fold.
    """
    global _folds_state
    start = time.perf_counter()
    examples = list(catalog.get("examples", []))
    if len(examples) < n_splits * MIN_EXAMPLES_PER_FOLD:
        raise ValueError(f"cross-validation needs at least {n_splits * MIN_EXAMPLES_PER_FOLD} "
                         f"labelled examples, the catalog has {len(examples)}")
    gold = [parse_labels(e["labels"]) for e in examples]
    predicted, no_comment = [None] * len(examples), [None] * len(examples)
    splits = list(KFold(n_splits, shuffle=True, random_state=random_state).split(examples))
    workers = min(effective_n_jobs(n_jobs), n_splits)
    if workers > 1 and can_fork():
        _folds_state = (catalog, examples, splits)
        try:
            context = multiprocessing.get_context("fork")
            with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                futures = [pool.submit(_run_fold, number) for number in range(n_splits)]
                results = []
                for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
                    results.append(future.result())
                    if progress is not None:
                        progress(done, n_splits)
        finally:
            _folds_state = None
    else:
        results = []
        for number, (train, test) in enumerate(splits):
            results.append((number, _fold(catalog, examples, train, test)))
            if progress is not None:
                progress(number + 1, n_splits)
    for number, (found, said_nothing) in results:
        for i, lists, flag in zip(splits[number][1], found, said_nothing):
            predicted[i], no_comment[i] = lists, flag
    figures = score_mentions(gold, predicted, no_comment)
    figures.update(n_examples=len(examples), n_splits=n_splits, seconds=round(time.perf_counter() - start, 1))
    return figures
