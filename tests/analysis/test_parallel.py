import os

import numpy as np

from analysis.catalog import analyze_comments
from analysis.parallel import fork_map_blocks
from analysis.text import normalize


def _block_summary(block):
    return os.getpid(), block[0], block[-1], len(block)


def test_blocks_run_in_two_processes_and_come_back_in_order():
    results = fork_map_blocks(_block_summary, list(range(10)), n_jobs=2, min_items=4)
    assert [r[1:] for r in results] == [(0, 4, 5), (5, 9, 5)]
    assert results[0][0] == os.getpid() != results[1][0]


def test_small_inputs_stay_in_this_process():
    assert fork_map_blocks(_block_summary, list(range(10)), n_jobs=2, min_items=11) == [(os.getpid(), 0, 9, 10)]


def test_catalog_probabilities_do_not_depend_on_the_number_of_processes(dev_comments, default_catalog):
    texts = [normalize(t) for t in dev_comments["comment"]]
    analysed = analyze_comments(list(dict.fromkeys(texts)))
    many = (analysed * 12)[:4000]
    together, shared = default_catalog.predict_proba(many), default_catalog.predict_proba(many, n_jobs=2)
    # float32 sums may round differently by block size, never enough to change a theme
    np.testing.assert_allclose(shared, together, rtol=1e-5, atol=1e-9)
    np.testing.assert_array_equal(shared.argmax(axis=1), together.argmax(axis=1))
