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
# # 施設別の利用者満足度 (facility satisfaction)
#
# Top-2-box rates (満足 + まあ満足; そう思う + まあそう思う for 「施設ができてよかった」) with
# Wilson score intervals; the share of facilities at or above the target, in the words of the
# ministry report (「N施設中M施設で90%以上の利用者満足度」); monthly trends; a comparison
# between facilities; praise and requests per theme, satisfaction by theme mention and the
# 未分類 comments of the stored run. Groups with fewer than `min_n` answers are suppressed, never shown as
# 0% or 100%.
#
# Every figure comes from a function of the `analysis` package; this notebook only chooses
# parameters, calls and shows. Rerun it with other parameters with papermill, see
# `notebooks/README.md`.

# %% tags=["parameters"]
database_url = None  # None: $DATABASE_URL, else instance/survey.sqlite3 of this repository
fiscal_year = None  # year compared between facilities, e.g. 2025; None: the latest year with answers
facility_codes = None  # e.g. ["aomori-young-job-plaza"]; None: every facility
compare_facilities = None  # facilities whose monthly trend is drawn; None: the 4 with most answers
min_n = 10  # groups with fewer answers are suppressed
confidence = 0.95  # of the Wilson intervals
threshold = 0.9  # the target rate (90%)
output_dir = None  # None: notebooks/_executed/facility_satisfaction
n_examples = 5  # 未分類 comments shown (masked)

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from analysis import plotting, store, voices
from analysis.io import write_csv
from analysis.satisfaction import national_summary_table, rates_from_counts, voice_counts
from survey_app.questionnaire import RESPONDENT_GROUP

here = Path.cwd()
repo = next((p for p in (here, *here.parents) if (p / "analysis").is_dir() and (p / "notebooks").is_dir()), here)
database_url = database_url or os.environ.get("DATABASE_URL") or f"sqlite:///{repo / 'instance' / 'survey.sqlite3'}"
output_dir = Path(output_dir or repo / "notebooks" / "_executed" / "facility_satisfaction")
output_dir.mkdir(parents=True, exist_ok=True)
engine = store.get_engine(database_url)
font = plotting.use_japanese_font()
options = dict(min_n=min_n, confidence=confidence, threshold=threshold)
percent = {c: "{:.1%}" for c in ("satisfaction_rate", "satisfaction_low", "satisfaction_high",
                                 "establishment_rate", "establishment_low", "establishment_high", "share")}
print(f"database: {engine.url.render_as_string(hide_password=True)}; font: {font}; output: {output_dir}")


def rates(by, **filters):
    """Top-2 rates per group from one GROUP BY in the database (the notebook's filters applied)."""
    counts = store.aggregate_counts(engine, by=by, facility_codes=facility_codes, **filters)
    return rates_from_counts(counts, **options)


# %% [markdown]
# ## 年度別の全体の満足度 (national rates by fiscal year)

# %%
national = rates("fiscal_year")
if national.empty:
    raise ValueError(f"no responses for facility_codes={facility_codes!r}")
fiscal_year = fiscal_year or int(national["fiscal_year"].max())
national.style.format(percent)

# %% [markdown]
# ## 目標（90%以上）に達した施設の数 (facilities at or above the target)

# %%
facility_rates = rates(("facility_code", "facility_name", "operator_kind", "fiscal_year"))
summary = national_summary_table(facility_rates, by="fiscal_year", threshold=threshold)
for row in summary.itertuples():
    display(Markdown(f"- **{row.fiscal_year}年度**: {row.text}（{row.suppressed}施設は回答{min_n}件未満で対象外）"))
summary.style.format(percent)

# %% [markdown]
# ## 施設間の比較 (comparison between facilities)
#
# Each facility's rate in the chosen fiscal year with its Wilson interval; red: below the
# target. An interval that crosses the dashed line means the data cannot tell whether the
# facility is above or below it.

# %%
year = facility_rates[facility_rates["fiscal_year"] == fiscal_year]
plotting.plot_intervals(year, label="facility_name", estimate="satisfaction_rate", low="satisfaction_low",
                        high="satisfaction_high", reference=threshold,
                        title=f"{fiscal_year}年度 施設別 利用者満足度（満足＋まあ満足, {confidence:.0%}区間）",
                        xlabel="満足度")
plt.show()

# %%
plotting.plot_intervals(year, label="facility_name", estimate="establishment_rate", low="establishment_low",
                        high="establishment_high", reference=threshold,
                        title=f"{fiscal_year}年度 施設別「施設ができてよかった」（そう思う＋まあそう思う）",
                        xlabel="設置を評価する利用者の割合")
plt.show()

# %%
columns = ["facility_name", "operator_kind", "n", "satisfaction_rate", "satisfaction_low", "satisfaction_high",
           "establishment_rate", "meets_target", "establishment_meets_target"]
print(f"{fiscal_year}年度: below the target or suppressed (fewer than {min_n} answers)")
year.loc[year["meets_target"].ne(True), columns].sort_values("satisfaction_rate").style.format(percent, na_rep="–")

# %% [markdown]
# ### 運営主体・支援対象者の区分別 (by operator and respondent group)

# %%
by_operator = rates(("operator_kind", "fiscal_year"))
by_operator.style.format(percent)

# %%
by_group = rates("respondent_group", fiscal_years=fiscal_year)
by_group["respondent_group"] = by_group["respondent_group"].map(RESPONDENT_GROUP.label_of).fillna("（無回答）")
plotting.plot_intervals(by_group, label="respondent_group", estimate="satisfaction_rate", low="satisfaction_low",
                        high="satisfaction_high", reference=threshold,
                        title=f"{fiscal_year}年度 支援対象者の区分別 利用者満足度", xlabel="満足度")
plt.show()

# %% [markdown]
# ## 推移 (trends by month)

# %%
monthly = rates("month")
plotting.plot_trend(monthly, period="month", estimate="satisfaction_rate", low="satisfaction_low",
                    high="satisfaction_high", reference=threshold,
                    title="月別 利用者満足度（全体）", ylabel="満足度")
plt.show()

# %%
monthly_operator = rates(("operator_kind", "month"))
plotting.plot_trend(monthly_operator, period="month", estimate="satisfaction_rate", group="operator_kind",
                    reference=threshold, title="月別 利用者満足度（運営主体別）", ylabel="満足度")
plt.show()

# %% [markdown]
# Months in which a facility has fewer than `min_n` answers are left out (on a small database
# that can be all of them).

# %%
compare = compare_facilities or year.nlargest(4, "n")["facility_code"].tolist()
monthly_facility = rates(("facility_code", "facility_name", "month"))
plotting.plot_trend(monthly_facility[monthly_facility["facility_code"].isin(compare)], period="month",
                    estimate="satisfaction_rate", group="facility_name", reference=threshold,
                    title="月別 利用者満足度（選んだ施設; 回答の少ない月は省略）", ylabel="満足度")
plt.show()

# %% [markdown]
# ## 利用者の声とテーマ別の満足度 (voices and satisfaction by theme mention)
#
# From the run `survey-analysis run` stored (the one the report pages show), in the chosen
# fiscal year: per theme, how many respondents praise it (評価する声) and how many ask for
# more (充実を求める意見); whether the people who mention a theme rate lower than everyone
# else (Wilson intervals; do people who mention waiting rate lower?); and the comments no
# theme covers (未分類), counted and shown, never dropped.

# %%
run = store.latest_run(engine)
print("no stored run: `survey-analysis run --database-url URL` stores one" if run is None else
      f"run {run['id']} of {run['finished_at']:%Y-%m-%d %H:%M} UTC, catalog {run['catalog_version']}")
theme_voices = voice_counts(store.read_mentions(engine, fiscal_years=fiscal_year, facility_codes=facility_codes))
theme_voices

# %%
by_mention = voices.mention_satisfaction(engine, fiscal_years=fiscal_year, facility_codes=facility_codes,
                                         min_n=min_n, confidence=confidence)
by_mention.style.format({c: "{:.1%}" for c in ("satisfaction_rate", "satisfaction_low", "satisfaction_high",
                                               "other_rate", "other_low", "other_high")}, na_rep="–")

# %%
if by_mention["satisfaction_rate"].notna().any():
    plotting.plot_intervals(by_mention.assign(theme=by_mention["theme_id"] + " " + by_mention["theme_label"]),
                            label="theme", estimate="satisfaction_rate", low="satisfaction_low",
                            high="satisfaction_high", reference=threshold,
                            title=f"{fiscal_year}年度 テーマに触れた人の利用者満足度（{confidence:.0%}区間）",
                            xlabel="満足度")
    plt.show()

# %%
unclassified = voices.unclassified_comments(engine, fiscal_years=fiscal_year, facility_codes=facility_codes)
display(Markdown(f"**未分類**（どのテーマにも入らなかったコメント）: {len(unclassified)}件\n\n"
                 + "\n".join(f"- {comment}" for comment in unclassified["comment"].head(n_examples))))

# %% [markdown]
# ## 書き出し (export)
#
# The tables above as UTF-8 CSV with a byte-order mark (opens in Excel).

# %%
for name, table in {"national_rates.csv": national, "facility_rates.csv": facility_rates,
                    "facilities_meeting_target.csv": summary, "monthly_rates.csv": monthly,
                    "theme_voices.csv": theme_voices, "satisfaction_by_mention.csv": by_mention,
                    "unclassified_comments.csv": unclassified}.items():
    write_csv(table, output_dir / name)
sorted(path.name for path in output_dir.glob("*.csv"))
