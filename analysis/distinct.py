"""Many answers as their distinct comments: memory follows the distinct texts, not the answers.

A national survey repeats itself (「特になし」, 「親切でした」): a million answers hold far fewer
distinct comments. :class:`DistinctComments` takes answers chunk by chunk and keeps, per
answer, only its id and the index of its text in the distinct table; the theme pipeline runs
on the distinct texts with their counts (:func:`analysis.pipeline.assign_themes` ``weights``),
and :meth:`DistinctComments.result_chunks` turns its per-text results back into per-answer
rows, one chunk at a time, for the store.
"""

import numpy as np
import pandas as pd

from .masking import mask_personal_data

__all__ = ["DistinctComments"]


class DistinctComments:
    """Answers (id, comment) collected as distinct comments and, per answer, an index.

    Attributes
    ----------
    texts : list of str
        The distinct comments as given ("" for no comment), in order of first appearance.
    """

    def __init__(self):
        self.texts: list[str] = []
        self._index_of: dict[str, int] = {}
        self._ids: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []

    def add(self, ids, comments) -> None:
        """Add a chunk of answers: their ids and comments (None for no comment)."""
        index_of, texts = self._index_of, self.texts
        rows = np.empty(len(comments), dtype=np.int32)
        for k, comment in enumerate(comments):
            text = comment if isinstance(comment, str) else ""
            i = index_of.get(text)
            if i is None:
                i = index_of[text] = len(texts)
                texts.append(text)
            rows[k] = i
        self._ids.append(np.asarray(ids, dtype=np.int64))
        self._rows.append(rows)

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._ids)

    def _arrays(self):
        if len(self._ids) != 1:  # join the chunks once
            self._ids = [np.concatenate(self._ids) if self._ids else np.empty(0, dtype=np.int64)]
            self._rows = [np.concatenate(self._rows) if self._rows else np.empty(0, dtype=np.int32)]
        return self._ids[0], self._rows[0]

    @property
    def ids(self) -> np.ndarray:
        return self._arrays()[0]

    def counts(self) -> np.ndarray:
        """How many answers each distinct text stands for."""
        return np.bincount(self._arrays()[1], minlength=len(self.texts))

    def masked_texts(self) -> list[str]:
        """The distinct texts masked (analysis.masking), as the theme pipeline reads them."""
        return [mask_personal_data(text) for text in self.texts]

    def first_ids(self) -> np.ndarray:
        """The id of the first answer of each distinct text."""
        ids, rows = self._arrays()
        first = np.full(len(self.texts), -1, dtype=np.int64)
        _unique, positions = np.unique(rows, return_index=True)
        first[rows[positions]] = ids[positions]
        return first

    def result_chunks(self, assignments: pd.DataFrame, mentions: pd.DataFrame, chunk_size: int):
        """Yield per-answer ``(assignments, mentions)`` frames for `chunk_size` answers at a time.

        Parameters
        ----------
        assignments : pandas.DataFrame
            One row per distinct text (``assign_themes`` on :attr:`texts`): ``theme_id``,
            ``score``, ``source``.
        mentions : pandas.DataFrame
            ``row`` (distinct text), ``theme_id``, ``polarity``, ``score``, ``span_start``,
            ``span_end``, ``rank``.
        chunk_size : int

        Yields
        ------
        (pandas.DataFrame, pandas.DataFrame)
            ``response_id``, ``theme_id``, ``score``, ``source`` per answer; its mentions
            with ``row`` = position in that chunk's assignments.
        """
        ids, rows = self._arrays()
        theme_id = assignments["theme_id"].to_numpy(dtype=object)
        score = assignments["score"].to_numpy(dtype=float)
        source = assignments["source"].to_numpy(dtype=object)
        # Mentions grouped by distinct text: text d's are ordered[begin[d]:end[d]].
        ordered = mentions.sort_values(["row", "rank"], kind="stable").reset_index(drop=True)
        mention_rows = ordered["row"].to_numpy(dtype=np.int64)
        begin = np.searchsorted(mention_rows, np.arange(len(self.texts)), side="left")
        end = np.searchsorted(mention_rows, np.arange(len(self.texts)), side="right")
        columns = [c for c in ordered.columns if c != "row"]
        for start in range(0, len(ids), chunk_size):
            chunk_rows = rows[start:start + chunk_size]
            chunk = pd.DataFrame({
                "response_id": ids[start:start + chunk_size],
                "theme_id": pd.Series(theme_id[chunk_rows], dtype=object),
                "score": score[chunk_rows],
                "source": pd.Series(source[chunk_rows], dtype=object),
            })
            counts = end[chunk_rows] - begin[chunk_rows]
            positions = np.repeat(np.arange(len(chunk_rows)), counts)
            # Each answer's run of mention rows: its text's begin plus 0, 1, … within the run.
            offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            taken = ordered.loc[np.repeat(begin[chunk_rows], counts) + offsets, columns]
            yield chunk, taken.reset_index(drop=True).assign(row=positions)
