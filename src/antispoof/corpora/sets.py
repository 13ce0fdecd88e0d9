"""The data sets that stage 1 of each corpus writes (`local/<corpus>/prepare_data.sh`).

run.sh checks the sets a run names against these before any work, so that a misspelt
`--train_set trian` stops at once with the names that exist, instead of after minutes of work.
A test prepares each corpus's replica and checks that it writes exactly these sets.
"""

from __future__ import annotations

ASVSPOOF2019 = ("train", "dev", "eval")
ASVSPOOF2021_LA = ("la21_full", "la21_eval")
ASVSPOOF2021_DF = (
    "df21_full",
    "df21_eval",
    "df21_train",
    "df21_dev",
    "df21_full_heldout",
    "df21_eval_heldout",
)
IN_THE_WILD = ("itw",)
ASVSPOOF5 = ("train", "dev", "eval")
# The mini corpus's ASVspoof 5 replica, named apart from its 2019 LA train/dev/eval.
ASVSPOOF5_MINI_PREFIX = "asv5_"
ASVSPOOF5_MINI = tuple(f"{ASVSPOOF5_MINI_PREFIX}{name}" for name in ASVSPOOF5)
FAKE_OR_REAL = ("for_test",)
CODECFAKE = ("codecfake_test", "codecfake_dev")
SPOOFCELEB = ("spoofceleb_eval", "spoofceleb_dev")
# One set per M-AILABS language; stage 1 writes those whose MLAAD and M-AILABS parts are there.
MLAAD = tuple(f"mlaad_{lang}" for lang in ("de", "en", "es", "fr", "it", "pl", "ru", "uk"))
# The Test recordings whole, then cut into segments of 4, 10, 13, 30 and 50 s (AntiDeepfake's).
DEEPFAKE_EVAL_2024 = (
    "dfeval2024",
    "dfeval2024_seg4",
    "dfeval2024_seg10",
    "dfeval2024_seg13",
    "dfeval2024_seg30",
    "dfeval2024_seg50",
)

CORPUS_SETS: dict[str, tuple[str, ...]] = {
    "asvspoof2019": ASVSPOOF2019,
    "asvspoof2021_la": ASVSPOOF2021_LA,
    "asvspoof2021_df": ASVSPOOF2021_DF,
    "in_the_wild": IN_THE_WILD,
    "asvspoof5": ASVSPOOF5,
    "fake_or_real": FAKE_OR_REAL,
    "codecfake": CODECFAKE,
    "spoofceleb": SPOOFCELEB,
    "deepfake_eval_2024": DEEPFAKE_EVAL_2024,
    "mlaad": MLAAD,
    # The mini corpus holds replicas of four corpora, prepared by their own stage 1.
    "mini": ASVSPOOF2019 + ASVSPOOF2021_DF + IN_THE_WILD + ASVSPOOF5_MINI,
}
