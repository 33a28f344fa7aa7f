# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # テーマ発見とカタログの見直し (theme discovery and catalog review)
#
# Reruns the comment analysis of `survey-analysis run` with the parameters below: tokens,
# word frequencies and a co-occurrence network (as in KH Coder), themes (catalog first, then
# discovery of the rest), representative comments, themes by facility, respondent group and
# month, and satisfaction by theme. The last section renames or adds catalog themes and
# saves the edited catalog to `output_dir/catalog.json`, which
# `survey-analysis themes --catalog PATH` and `survey-analysis run --catalog PATH` read.
#
# Every figure comes from a function of the `analysis` package; this notebook only chooses
# parameters, calls and shows. Rerun it with other parameters with papermill, see
# `notebooks/README.md`.

# %% tags=["parameters"]
database_url = None  # None: $DATABASE_URL, else instance/survey.sqlite3 of this repository
fiscal_year = None  # e.g. 2025 (年度, April–March); None: every year
facility_codes = None  # e.g. ["aomori-young-job-plaza"]; None: every facility
n_themes = "auto"  # discovered themes: "auto" or a whole number
seed = 0  # random seed of the discovery
catalog_path = None  # theme catalog JSON; None: the shipped catalog
output_dir = None  # None: notebooks/_executed/theme_discovery
top_words = 30  # words in the frequency chart
network_words = 60  # words considered for the co-occurrence network
network_edges = 60  # strongest links drawn
min_documents = 3  # a word (and a link) must occur in at least this many comments
n_representatives = 3  # representative comments shown per theme
min_n = 10  # groups with fewer answers are suppressed
trend_themes = 6  # themes drawn in the monthly trend
mask_comments = True  # hide phone numbers, e-mail addresses and names in shown comments
rename_themes = {}  # catalog edits, e.g. {"T07": "相談員の増員・待ち時間の短縮"}
add_themes = []  # e.g. [{"code": "T12", "name": "担当者の固定", "from_theme": "D01"}]

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from analysis import JapaneseTokenizer, ThemeCatalog, assign_themes, is_no_comment
from analysis import cooccurrence, plotting, store, voices
from analysis.masking import mask_personal_data
from analysis.satisfaction import satisfaction_by_theme, theme_shares, voice_counts
from survey_app.questionnaire import RESPONDENT_GROUP

here = Path.cwd()
repo = next((p for p in (here, *here.parents) if (p / "analysis").is_dir() and (p / "notebooks").is_dir()), here)
database_url = database_url or os.environ.get("DATABASE_URL") or f"sqlite:///{repo / 'instance' / 'survey.sqlite3'}"
output_dir = Path(output_dir or repo / "notebooks" / "_executed" / "theme_discovery")
output_dir.mkdir(parents=True, exist_ok=True)
engine = store.get_engine(database_url)
font = plotting.use_japanese_font()
shown = (lambda text: " ".join(mask_personal_data(text).split())) if mask_comments else (lambda text: " ".join(text.split()))
pd.set_option("display.max_colwidth", 120)
print(f"database: {engine.url.render_as_string(hide_password=True)}; font: {font}; output: {output_dir}")

# %% [markdown]
# ## 回答とコメント (responses and comments)

# %%
responses = store.read_responses(engine, fiscal_years=fiscal_year, facility_codes=facility_codes)
if responses.empty:
    raise ValueError(f"no responses for fiscal_year={fiscal_year!r}, facility_codes={facility_codes!r}")
comments = responses["comment"].fillna("").astype(str)
has_content = ~comments.map(is_no_comment)
pd.DataFrame({
    "responses": [len(responses)],
    "with a comment": [int(has_content.sum())],
    "no comment (特になし, blank…)": [int((~has_content).sum())],
    "facilities": [responses["facility_code"].nunique()],
    "fiscal years": [", ".join(map(str, sorted(responses["fiscal_year"].unique())))],
})

# %% [markdown]
# ## 語の抽出と頻出語 (tokens and word frequencies)
#
# Content words as the analysis sees them: UniDic lemmas, compounds re-joined, stop words
# dropped, synonyms merged; shown in the spelling people wrote most often.

# %%
tokenizer = JapaneseTokenizer()
tokens = tokenizer.fit_transform(comments[has_content])
pd.DataFrame({
    "comment": comments[has_content].map(shown).head(8).to_numpy(),
    "tokens": [" / ".join(tokenizer.display_form(t) for t in row) for row in tokens[:8]],
})

# %%
frequencies = cooccurrence.word_frequencies(tokens, display=tokenizer.display_form)
frequencies.head(top_words)

# %%
plotting.plot_bars(frequencies, label="display", value="count", top=top_words,
                   title=f"頻出語 上位{top_words}語", xlabel="出現回数")
plt.show()

# %% [markdown]
# ## 共起ネットワーク (co-occurrence network)
#
# Words used in the same comments, linked by the Jaccard coefficient (the strongest links
# only); node size = frequency, colour = community (words that go together).

# %%
edges = cooccurrence.cooccurrence_table(tokens, max_words=network_words, min_documents=min_documents,
                                        top_edges=network_edges, display=tokenizer.display_form)
edges.head(15)

# %%
network = cooccurrence.cooccurrence_graph(edges, frequencies, seed=seed)
plotting.plot_cooccurrence_network(network, title="共起ネットワーク (Jaccard)", seed=seed)
plt.show()

# %% [markdown]
# ## テーマ (themes)
#
# Catalog themes (`T..`) are assigned first; the comments the catalog is unsure about are
# clustered into discovered themes (`D..`), named by their most distinctive words.

# %%
catalog = ThemeCatalog.load(catalog_path) if catalog_path else ThemeCatalog.load()
result, themes, theme_mentions = assign_themes(comments, catalog=catalog, n_themes=n_themes, random_state=seed)
assignments = pd.concat([responses.drop(columns="comment").reset_index(drop=True), result], axis=1)
assignments["respondent_group"] = assignments["respondent_group"].map(RESPONDENT_GROUP.label_of).fillna("（無回答）")
print(f"catalog {catalog.version}: {len(themes)} themes (未分類 included), {len(theme_mentions)} mentions; "
      "answers by source:")
assignments["source"].value_counts()

# %%
overall = theme_shares(assignments, by=[])
overall

# %%
plotting.plot_bars(overall.assign(theme=overall["theme_id"] + " " + overall["theme_label"]),
                   label="theme", value="share", percent=True,
                   title="テーマ別の構成比（コメントのある回答に占める割合）")
plt.show()

# %% [markdown]
# ### 代表的なコメント (representative comments)

# %%
# Representatives are input rows (the comments that make the theme's point most clearly).
for theme in themes.itertuples():
    lines = [f"- {shown(comments[row])}" for row in theme.representatives[:n_representatives]]
    split = "" if theme.source == "unclassified" else f", 評価 {theme.praise}件 / 要望 {theme.request}件"
    display(Markdown(f"**{theme.theme_id or ''} {theme.label}** ({theme.size}件{split}, {theme.source})\n\n"
                     + "\n".join(lines)))

# %% [markdown]
# ## 施設・利用者の区分によるテーマの違い (themes by facility and respondent group)

# %%
by_group = theme_shares(assignments, by="respondent_group")
plotting.plot_share_heatmap(by_group.assign(theme=by_group["theme_id"] + " " + by_group["theme_label"]),
                            index="theme", columns="respondent_group", values="share",
                            title="支援対象者の区分別 テーマ構成比")
plt.show()

# %%
by_operator = theme_shares(assignments, by="operator_kind")
by_operator.pivot_table(index="theme_label", columns="operator_kind", values="share").style.format("{:.1%}")

# %%
by_facility = theme_shares(assignments, by="facility_name")
busiest = by_facility.drop_duplicates("facility_name").nlargest(15, "n_comments")["facility_name"]
plotting.plot_share_heatmap(by_facility[by_facility["facility_name"].isin(busiest)]
                            .assign(theme=lambda f: f["theme_id"] + " " + f["theme_label"]),
                            index="theme", columns="facility_name", values="share",
                            title="施設別 テーマ構成比（コメントの多い15施設）")
plt.show()

# %% [markdown]
# ## テーマの推移 (theme trends by month)
#
# Months with fewer than `min_n` comments are left out.

# %%
by_month = theme_shares(assignments, by="month")
plotting.plot_trend(by_month[by_month["n_comments"] >= min_n], period="month", estimate="share", group="theme_label", top=trend_themes,
                    title=f"月別 テーマ構成比（上位{trend_themes}テーマ）", ylabel="構成比")
plt.show()

# %% [markdown]
# ## テーマ別の満足度 (satisfaction by theme)
#
# Top-2-box satisfaction of the people who wrote about each theme, against everyone else who
# commented; the difference has a Newcombe interval and a two-proportion z-test p-value.

# %%
by_theme = satisfaction_by_theme(responses, assignments, min_n=min_n)
by_theme.style.format({c: "{:.1%}" for c in ("satisfaction_rate", "satisfaction_low", "satisfaction_high",
                                             "other_rate", "difference", "difference_low", "difference_high")}
                      | {"p_value": "{:.3f}"})

# %%
plotting.plot_intervals(by_theme.assign(theme=by_theme["theme_id"] + " " + by_theme["theme_label"]),
                        label="theme", estimate="difference", low="difference_low", high="difference_high",
                        reference=0.0, title="テーマ別 満足度の差（そのテーマ − 他のコメント, 95%区間）",
                        xlabel="満足度（上位2区分）の差")
plt.show()

# %% [markdown]
# ## 保存済みの分析結果との比較 (the stored run)
#
# `survey-analysis run` stores the themes the report pages show; compare them with this rerun.

# %%
run = store.latest_run(engine)
if run is None:
    print("no stored run yet: `survey-analysis run --database-url URL` stores one")
    stored = None
else:
    print(f"run {run['id']} of {run['finished_at']:%Y-%m-%d %H:%M} UTC, parameters {run['parameters']}, "
          f"catalog {run['catalog_version']}: {run['n_themes']} themes over {run['n_comments']} comments")
    stored = store.read_themes(engine, run_id=run["id"])[["theme_id", "label", "source", "size"]]
stored

# %% [markdown]
# ## 評価する声と充実を求める意見 (praise and requests per theme)
#
# The stored run's theme mentions: per theme, how many respondents praise it and how many ask
# or complain (a comment may make several points). Runs stored before mentions existed have
# none: rerun `survey-analysis run`. The comments no theme covers (未分類) follow, counted and
# shown, never dropped.

# %%
mentions = store.read_mentions(engine, fiscal_years=fiscal_year, facility_codes=facility_codes)
if mentions.empty:
    print("the stored run holds no theme mentions (praise / request) yet")
voice_counts(mentions)

# %%
unclassified = voices.unclassified_comments(engine, fiscal_years=fiscal_year, facility_codes=facility_codes,
                                            mask=mask_comments)
display(Markdown(f"**未分類**（保存済みの分析でどのテーマにも入らなかったコメント）: {len(unclassified)}件\n\n"
                 + "\n".join(f"- {shown(comment)}" for comment in unclassified["comment"].head(n_representatives))))

# %% [markdown]
# ## カタログの編集と保存 (edit and save the catalog)
#
# `rename_themes` and `add_themes` (parameters) rename catalog themes and add new ones, e.g.
# a discovered theme promoted with `from_theme` (its comments become the examples). The
# edited catalog is saved to `output_dir/catalog.json`; check the themes it now assigns.

# %%
edited = cooccurrence.edit_catalog(catalog, rename=rename_themes, add=add_themes, assignments=result)
catalog_file = output_dir / "catalog.json"
edited.save(catalog_file)
print(f"saved catalog {edited.version} ({len(edited.themes)} themes) to {catalog_file}")
pd.DataFrame([{"code": t["code"], "name": t["name"], "examples": len(t.get("examples", [])),
               "renamed": t["code"] in rename_themes, "added": t["code"] in {a["code"] for a in add_themes}}
              for t in edited.themes])

# %%
check, check_themes, _ = assign_themes(comments, catalog=edited, n_themes=n_themes, random_state=seed)
check_themes[["theme_id", "label", "source", "size", "praise", "request"]]
