"""Scenario builder, evidence, templates, parsing, metrics, baseline and report of the LLM recipe.

Oracles: the dataset's own PROTOCOL.md and label file (real data, skipped when absent), plain Python
loops, closed forms and torch's L-BFGS for the logistic regression.
"""

from __future__ import annotations

import doctest
import importlib
import io
import itertools
import json
import math
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference_models.llm_eval as llm_eval
from reference_models.llm_eval.__main__ import main
from reference_models.llm_eval.baseline import cross_validate, fit_logistic, predict_proba, run_baseline
from reference_models.llm_eval.events import MGEvent, VideoRecord, make_videos, parse_events_csv, read_video_labels
from reference_models.llm_eval.evidence import histogram, summarize
from reference_models.llm_eval.metrics import (
    accuracy,
    balanced_accuracy,
    bootstrap_ci,
    macro_f1,
    mcnemar,
    paired_bootstrap_diff,
)
from reference_models.llm_eval.parsing import ParsedAnswer, parse_answer
from reference_models.llm_eval.protocol import TEST_VIDEOS, TRAIN_VIDEOS, load_imigue
from reference_models.llm_eval.report import evaluate, to_markdown, write_json_atomic
from reference_models.llm_eval.runner import ItemResult, RetryPolicy, VideoPrediction, combine_orders
from reference_models.llm_eval.scenarios import BuildConfig, Choice, Scenario, build_items, fewshot_examples
from reference_models.llm_eval.templates import PromptTemplates
from reference_models.llm_eval.vocabulary import IMIGUE

# ---------------------------------------------------------------- real data: PROTOCOL.md and the label file


@pytest.fixture(scope="module")
def imigue_dir(shared_dir: Path) -> Path:
    d = shared_dir / "data" / "imigue"
    if not (d / "labels_20200831.csv").is_file():
        pytest.skip(f"{d}/labels_20200831.csv not found; set SKELAUG_SHARED")
    return d


def _protocol_regions(text: str) -> dict[int, str]:
    section = text.split("## MG classes", 1)[1].split("\n## ", 1)[0]
    section = re.sub(r"\n  +", " ", section)  # join wrapped list items
    out = {}
    for line in section.splitlines():
        m = re.match(r"- (Body|Head|Hand|Body-Hand|Head-Hand): (.*)", line)
        if m:
            for num in re.findall(r"(?:^|;\s+)(\d+) ", m.group(2)):
                out[int(num)] = m.group(1).lower()
    return out


def test_vocabulary_regions_and_names_match_protocol_md(imigue_dir):
    text = (imigue_dir / "PROTOCOL.md").read_text()
    regions = _protocol_regions(text)
    assert len(regions) == 31
    for c, r in regions.items():
        assert IMIGUE.region(c) == r
    assert IMIGUE.region(32) == "non-MG" and not IMIGUE.is_mg(32) and IMIGUE.canonical(99) == 32
    assert IMIGUE.display(31) == "Shaking shoulders" and IMIGUE.display(25) == "Minaret gesture"


def test_splits_match_protocol_md_and_are_balanced_in_the_label_file(imigue_dir):
    text = (imigue_dir / "PROTOCOL.md").read_text()
    train = [int(x) for x in re.search(r"Train videos \(102.*?\): ([\d,]+)", text).group(1).split(",")]
    test = [int(x) for x in re.search(r"Test videos \(100.*?\): ([\d,]+)", text).group(1).split(",")]
    assert list(TRAIN_VIDEOS) == train and list(TEST_VIDEOS) == test
    videos = load_imigue(imigue_dir / "labels_20200831.csv")
    tr = [v for v in videos if v.split == "train"]
    te = [v for v in videos if v.split == "test"]
    assert (len(tr), len(te)) == (102, 100)
    assert sum(v.label == "positive" for v in tr) == 51 and sum(v.label == "positive" for v in te) == 50
    # events are the file's rows: an independent count with csv
    import csv

    rows = list(csv.DictReader(open(imigue_dir / "labels_20200831.csv")))
    v9 = [r for r in rows if r["video_id"] == "9"]
    rec = next(v for v in te if v.video == "9")
    assert len(rec.events) == len(v9)
    assert rec.label == ("positive" if v9[0]["win_or_lose"] == "Win" else "negative")
    assert sorted(e.mg_class for e in rec.events) == sorted(32 if r["class"] == "99" else int(r["class"]) for r in v9)


def test_baseline_on_the_real_emotion_protocol(imigue_dir):
    videos = load_imigue(imigue_dir / "labels_20200831.csv")
    tr = [v for v in videos if v.split == "train"]
    te = [v for v in videos if v.split == "test"]
    res = run_baseline(tr, te, ("positive", "negative"), n_boot=500)
    acc = res.metrics["accuracy"]
    # the number quoted in the README (0.62 [0.52, 0.72] with 2000 resamples)
    assert acc["value"] == pytest.approx(0.62)
    assert acc["ci_low"] < acc["value"] < acc["ci_high"]
    preds = np.array([res.predictions[v.video] == v.label for v in te])
    assert preds.mean() == pytest.approx(acc["value"])


def test_cli_baseline_and_build_on_real_labels(imigue_dir, tmp_path, capsys):
    labels = str(imigue_dir / "labels_20200831.csv")
    assert main(["baseline", "--labels", labels, "--n-boot", "200", "--out", str(tmp_path)]) == 0
    assert "| accuracy | 0.620" in capsys.readouterr().out
    assert json.loads((tmp_path / "baseline.json").read_text())["n_test"] == 100
    assert main(["build", "--labels", labels, "--out", str(tmp_path), "--limit", "3"]) == 0
    prompts = [json.loads(x) for x in (tmp_path / "prompts.jsonl").read_text().splitlines()]
    assert len(prompts) == 3 * 5 * 2
    few = [p for p in prompts if p["condition"] == "mg_fewshot"]
    assert all(int(v) in TRAIN_VIDEOS for p in few for v in p["fewshot_videos"])
    assert main(["build", "--labels", labels, "--conditions", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


# ---------------------------------------------------------------- events and evidence


def test_events_csv_frames_aliases_scores_and_errors_naming_the_line():
    text = "video_id,start_frame,end_frame,class,score\n3,25,49,99,0.2\n3,0,24,5,0.9\n"
    ev = parse_events_csv(io.StringIO(text), fps=25.0, min_score=0.5)
    assert [(e.start, e.end, e.mg_class) for e in ev["3"]] == [(0.0, 1.0, 5)]
    with pytest.raises(ValueError, match="fps"):
        parse_events_csv(io.StringIO(text))
    with pytest.raises(ValueError, match=r"line 3: .*class 40"):
        parse_events_csv(io.StringIO("video_id,start_time,end_time,class\n1,0,1,3\n1,0,1,40\n"), source="p.csv")
    with pytest.raises(ValueError, match=r"p.csv, line 2: MGEvent times"):
        parse_events_csv(io.StringIO("video_id,start_time,end_time,class\n1,2,1,3\n"), source="p.csv")
    with pytest.raises(ValueError, match="no 'class' column"):
        parse_events_csv(io.StringIO("video_id,start_time,end_time\n"))


def test_video_labels_and_make_videos(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("video_id,label,split\nb,anxious,test\na,confident,train\n")
    labels = read_video_labels(p, ("confident", "anxious"))
    vids = make_videos({"a": [MGEvent(1, 2, 3)]}, labels)
    assert [(v.video, v.label, v.split, len(v.events)) for v in vids] == [("a", "confident", "train", 1),
                                                                          ("b", "anxious", "test", 0)]
    p.write_text("video_id,label\na,happy\n")
    with pytest.raises(ValueError, match=r"line 2: label 'happy'"):
        read_video_labels(p, ("confident", "anxious"))


events_st = st.lists(st.tuples(st.floats(0, 500), st.floats(0, 20), st.integers(1, 32)), max_size=40)


@given(events_st, st.booleans())
def test_evidence_matches_plain_loops(raw, include_non_mg):
    v = VideoRecord("v", tuple(MGEvent(a, a + d, c) for a, d, c in raw))
    ev = summarize(v, include_non_mg=include_non_mg)
    kept = [e for e in v.events if include_non_mg or e.mg_class != 32]
    assert list(ev.sequence) == kept
    assert [e.start for e in ev.sequence] == sorted(e.start for e in ev.sequence)
    counts: dict[int, int] = {}
    for e in kept:
        counts[e.mg_class] = counts.get(e.mg_class, 0) + 1
    assert ev.counts == counts
    assert list(ev.counts.values()) == sorted(ev.counts.values(), reverse=True)
    dur = max((a + d for a, d, _ in raw), default=0.0)
    for c, n in counts.items():
        assert ev.rates[c] == pytest.approx(60 * n / dur if dur > 0 else 0.0)
    for r in ev.region_counts:
        assert ev.region_counts[r] == sum(n for c, n in counts.items() if IMIGUE.region(c) == r)
    assert ("non-MG" in ev.region_counts) == include_non_mg
    h = histogram(v, include_non_mg=include_non_mg, normalize=False)
    assert h.sum() == len(kept) and len(h) == (32 if include_non_mg else 31)
    hn = histogram(v, include_non_mg=include_non_mg)
    assert hn.sum() == pytest.approx(1.0 if kept else 0.0)


def test_duration_overrides_the_last_event_for_rates():
    v = VideoRecord("v", (MGEvent(0, 30, 1),), duration=120.0)
    assert summarize(v).rates[1] == 0.5
    with pytest.raises(ValueError, match="duration"):
        summarize(VideoRecord("v", (), duration=0.0))


# ---------------------------------------------------------------- templates and the builder


def _vids(n: int, split: str = "test") -> list[VideoRecord]:
    return [VideoRecord(f"{split}{i}", tuple(MGEvent(3.0 * j, 3.0 * j + 1, 1 + (i + 5 * j) % 32)
                                             for j in range(1 + i % 5)),
                        label=("positive", "negative")[i % 2], split=split) for i in range(n)]


def test_conditions_show_exactly_what_they_claim():
    sc = Scenario.load("press_conference")
    t = sc.templates()
    context = t.render("context")
    items = build_items(sc, _vids(3), BuildConfig(order="both", fewshot_k=2), fewshot_pool=_vids(6, "train"))
    assert len(items) == 3 * 5 * 2
    for it in items:
        user = it.messages[1][1]
        assert (context in user) == it.shows_context == ("context" in it.condition)
        assert ("In order of appearance" in user) == it.shows_mg
        assert ("Example 1:" in user) == it.condition.endswith("fewshot")
        assert ("the player" in user) == it.shows_context  # no setting leaks into MG-only prompts
        letters = [c.letter for c in it.choices]
        assert letters == ["A", "B"]
        lines = [f"{c.letter}. {c.text}" for c in it.choices]
        assert all(ln in user for ln in lines)
        assert [c.key for c in it.choices] == (["positive", "negative"] if it.order == "fixed"
                                               else ["negative", "positive"])


def test_fewshot_examples_are_balanced_training_videos_shared_across_conditions_and_orders():
    sc = Scenario.load("press_conference")
    pool = _vids(10, "train")
    items = build_items(sc, _vids(4), BuildConfig(conditions=("mg_fewshot", "context_mg_fewshot"), fewshot_k=4),
                        fewshot_pool=pool)
    by_video: dict[str, set[tuple[str, ...]]] = {}
    for it in items:
        by_video.setdefault(it.video, set()).add(it.fewshot_videos)
        labels = [next(v.label for v in pool if v.video == x) for x in it.fewshot_videos]
        assert sorted(labels) == ["negative", "negative", "positive", "positive"]
        # the example answers use the letters of this item's order
        letter = {c.key: c.letter for c in it.choices}
        shown = re.findall(r"Example \d+:.*?\nAnswer: ([AB])", it.messages[1][1], re.S)
        assert shown == [letter[lab] for lab in labels]
    assert all(len(s) == 1 for s in by_video.values())
    assert len({next(iter(s)) for s in by_video.values()}) > 1  # per-item draws differ
    fixed = build_items(sc, _vids(4), BuildConfig(conditions=("mg_fewshot",), fewshot_sampling="fixed"),
                        fewshot_pool=pool)
    assert len({it.fewshot_videos for it in fixed}) == 1
    with pytest.raises(ValueError, match="few-shot pool"):
        fewshot_examples("x", pool[:3], sc.options, 4, 0)


def test_evidence_options_sequence_cap_and_non_mg():
    sc = Scenario.load("press_conference")
    v = VideoRecord("v", tuple(MGEvent(j, j + 0.5, 32 if j % 2 else 31) for j in range(10)), label="positive")
    cfg = BuildConfig(conditions=("mg",), order="fixed", max_sequence=3)
    user = build_items(sc, [v], cfg)[0].messages[1][1]
    assert re.findall(r"^\d+\. ", user, re.M) == ["1. ", "2. ", "3. "] and "... and 7 more." in user
    cfg2 = BuildConfig(conditions=("mg",), order="fixed", include_non_mg=False, evidence_parts=("counts",))
    user2 = build_items(sc, [v], cfg2)[0].messages[1][1]
    assert "Illustrative" not in user2 and "Shaking shoulders: 5 (" in user2 and "In order" not in user2
    empty = build_items(sc, [VideoRecord("e", (), label="negative")], cfg)[0].messages[1][1]
    assert "No micro-gestures were recorded." in empty


def test_shuffled_order_is_seeded_and_labels_are_checked():
    sc = Scenario.load("press_conference")
    a = build_items(sc, _vids(6), BuildConfig(conditions=("mg",), order="shuffled", seed=3))
    b = build_items(sc, _vids(6), BuildConfig(conditions=("mg",), order="shuffled", seed=3))
    assert [it.choices for it in a] == [it.choices for it in b]
    assert len({tuple(c.key for c in it.choices) for it in a}) == 2
    with pytest.raises(ValueError, match="not an option"):
        build_items(sc, [VideoRecord("x", (), label="happy")])
    with pytest.raises(ValueError, match="order"):
        BuildConfig(order="random")  # type: ignore[arg-type]


def test_a_new_scenario_folder_with_its_own_condition_and_override(tmp_path):
    folder = tmp_path / "deception"
    folder.mkdir()
    (folder / "scenario.json").write_text(json.dumps({"subject": "the witness", "options": [
        ["truthful", "Truthful"], ["deceptive", "Deceptive"], ["unsure", "Cannot tell"]]}))
    (folder / "context.txt").write_text("Setting: a witness answers questions in a mock trial.\n")
    (folder / "question.txt").write_text("Is $subject lying?\n")
    (folder / "mg_intro.txt").write_text("Body cues of $subject:\n")
    (folder / "user_regions_only.txt").write_text("$context\n$evidence\n$question\n$options\n$instruction\n")
    sc = Scenario.load(folder)
    assert sc.options == ("truthful", "deceptive", "unsure")
    assert "regions_only" in sc.templates().conditions()
    v = VideoRecord("w1", (MGEvent(0, 1, 7),), label="deceptive")
    it = build_items(sc, [v], BuildConfig(conditions=("regions_only", "mg"), order="swapped"))
    assert [c.letter + c.key for c in it[0].choices] == ["Aunsure", "Bdeceptive", "Ctruthful"]
    assert it[0].messages[1][1].startswith("Setting: a witness") and it[0].shows_mg
    assert it[1].messages[1][1].startswith("Body cues of the person:")
    (folder / "user_bad.txt").write_text("$context $nonsense\n")
    with pytest.raises(ValueError, match=r"user_bad.txt uses \['nonsense'\]"):
        build_items(sc, [v], BuildConfig(conditions=("bad",)))
    with pytest.raises(ValueError, match="no template"):
        PromptTemplates("v1").render("does_not_exist")
    with pytest.raises(ValueError, match="prompt version"):
        PromptTemplates("v999")


def test_fingerprint_changes_with_a_template(tmp_path):
    import shutil

    root = tmp_path / "prompts"
    shutil.copytree(Path(llm_eval.__file__).parent / "prompts", root)
    a = Scenario.load("press_conference", prompts_root=root).templates().fingerprint()
    (root / "v1" / "instruction.txt").write_text("Say A or B.\n")
    b = Scenario.load("press_conference", prompts_root=root).templates().fingerprint()
    assert a != b


# ---------------------------------------------------------------- parsing


CH = (Choice("negative", "A", "Negative (e.g. sad)", "Answer: A"), Choice("positive", "B", "Positive", "Answer: B"))


@pytest.mark.parametrize(("text", "key"), [
    ("Answer: A", "negative"), ("answer: b", "positive"), ("Answer: a.", "negative"), ("(b)", "positive"),
    ("B", "positive"), ("(A)", "negative"),
    ("The answer is B.", "positive"), ("Final answer: **A**", "negative"), ("Answer: Positive", "positive"),
    ('```json\n{"answer": "B"}\n```', "positive"), ("B. Positive - the player seems relaxed.", "positive"),
    ("Reasoning... several cues of tension.\nAnswer: A", "negative"), ("negative.", "negative"),
    ("<think>Could be B. Or A.</think>Answer: A", "negative"), ("<think>long unfinished reasoning", None),
    ("", None), ("I cannot decide.", None), ("positive or negative?", None),
])
def test_parse_answer_cases(text, key):
    assert parse_answer(text, CH).key == key


# Real-world reply styles: (reply, option key or None, strict?, rule or reason). A careful reader accepts
# an explicit commitment (strict); one option named in plain prose counts only in the lenient column;
# refusals, hedges, negations, both options, a letter contradicting its name, or only reasoning: no answer.
REPLY_STYLES = [
    # refusals
    ("I cannot tell whether the player felt positive.", None, False, "refusal"),
    ("I'm sorry, but I can't determine emotions from gestures alone.", None, False, "refusal"),
    ("As an AI, I am unable to infer how the player felt.", None, False, "refusal"),
    ("There is not enough information to decide.", None, False, "refusal"),
    ("Answer: I cannot determine this.", None, False, "refusal"),
    ("The evidence is inconclusive.", None, False, "refusal"),
    # negation
    ("Not negative, but I cannot say more.", None, False, "refusal"),
    ("The player was not positive.", None, False, "negated"),
    ("Answer: not A", None, False, "negated"),
    ("Neither.", None, False, "negated"),
    ("The player didn't seem negative.", None, False, "negated"),
    # hedging
    ("Maybe positive.", None, False, "hedged"),
    ("It is likely positive.", None, False, "hedged"),
    ("Answer: probably B", None, False, "hedged"),
    ("Positive? Hard to tell.", None, False, "hedged"),
    # both options named
    ("positive or negative?", None, False, "ambiguous"),
    ("Answer: A or B", None, False, "ambiguous"),
    ("Both positive and negative cues are present.", None, False, "ambiguous"),
    ("Answer: A. Positive", None, False, "conflict"),
    # reasoning blocks
    ("<think>Could be B. Or A.</think>Answer: A", "negative", True, "answer-line"),
    ("<think>long unfinished reasoning about B", None, False, "reasoning-only"),
    ("The user asks about... so B.</think>\n\nAnswer: B", "positive", True, "answer-line"),
    ("<reasoning>Tension cues.</reasoning>\nFinal answer: A", "negative", True, "answer-line"),
    # JSON
    ('```json\n{"answer": "B"}\n```', "positive", True, "json"),
    ('{"label": "negative", "confidence": 0.7}', "negative", True, "json"),
    ('{"answer": "unknown"}', None, False, "unparseable"),
    # markdown
    ("Final answer: **A**", "negative", True, "answer-line"),
    ("## Answer\n\nB", "positive", True, "answer-line"),
    ("**Answer:**\nA. Negative", "negative", True, "answer-line"),
    ("\\boxed{B}", "positive", True, "boxed"),
    # explicit answers, with or without explanation
    ("Answer: B", "positive", True, "answer-line"),
    ("answer: b", "positive", True, "answer-line"),
    ("The answer is B.", "positive", True, "answer-line"),
    ("The answer is: (A) Negative (e.g. sad)", "negative", True, "answer-line"),
    ("Answer: Option A", "negative", True, "answer-line"),
    ("Answer: B\n\nExplanation: relaxed posture, not negative at all.", "positive", True, "answer-line"),
    ("Reasoning... several cues of tension.\nAnswer: A", "negative", True, "answer-line"),
    ("B", "positive", True, "whole"), ("(b)", "positive", True, "whole"), ("negative.", "negative", True, "whole"),
    ("B. Positive - the player seems relaxed.", "positive", True, "leading"),
    ("A) Negative", "negative", True, "leading"),
    ("Negative. The player touched his face often.", "negative", True, "leading"),
    # plain prose naming one option: lenient only
    ("The player seems positive overall.", "positive", False, "mention"),
    ("I think positive.", "positive", False, "mention"),
    # nothing
    ("", None, False, "empty"), ("A player who lost would look tense.", None, False, "unparseable"),
    ("I cannot decide.", None, False, "refusal"),
]


@pytest.mark.parametrize(("text", "key", "strict", "how"), REPLY_STYLES)
def test_parse_real_world_reply_styles(text, key, strict, how):
    p = parse_answer(text, CH)
    assert (p.key, p.strict, p.how) == (key, strict, how)


@given(st.sampled_from(["negative", "positive", "Negative", "POSITIVE"]), st.sampled_from([
    "I cannot tell whether the player felt {x}.", "Not {x}, but I cannot say more.", "Maybe {x}.",
    "It is unclear if the player was {x}.", "The player was not {x}.", "I don't know; perhaps {x}.",
    "Possibly {x}, possibly not.", "Is the player {x}?", "I would not say {x}.", "It could be {x}.",
    "Sorry, I can't judge whether the mood was {x}.", "Answer: not {x}", "Answer: maybe {x}",
]))
def test_refusals_hedges_and_negations_never_count_as_answers(option, template):
    assert parse_answer(template.format(x=option), CH).key is None


def test_option_names_that_look_like_cues_still_count():
    ch = (Choice("truthful", "A", "Truthful", "Answer: A"), Choice("deceptive", "B", "Deceptive", "Answer: B"),
          Choice("cannot_tell", "C", "Cannot tell", "Answer: C"))
    assert parse_answer("Answer: Cannot tell", ch) == ParsedAnswer("cannot_tell", "answer-line")
    assert parse_answer("I would say: cannot tell.", ch).key == "cannot_tell"
    hired = (Choice("hired", "A", "Hired", "Answer: A"), Choice("not_hired", "B", "Not hired", "Answer: B"))
    assert parse_answer("Not hired.", hired) == ParsedAnswer("not_hired", "whole")
    assert parse_answer("Answer: hired or not hired", hired).key is None


def test_parse_prefers_the_longer_option_name():
    ch = (Choice("hired", "A", "Hired", "Answer: A"), Choice("not_hired", "B", "Not hired", "Answer: B"))
    assert parse_answer("I think the candidate was not hired.", ch).key == "not_hired"
    assert parse_answer("The candidate was hired.", ch).key == "hired"


@given(st.permutations(["alpha", "beta", "gamma", "delta"]), st.integers(0, 3), st.sampled_from(
    ["Answer: {L}", "answer is {L}", "{L}", "({L})", '{{"answer": "{L}"}}', "Answer: {T}", "{T}"]))
def test_parse_recovers_any_letter_or_name(keys, pick, fmt):
    ch = tuple(Choice(k, "ABCD"[i], k.capitalize(), f"Answer: {'ABCD'[i]}") for i, k in enumerate(keys))
    c = ch[pick]
    assert parse_answer(fmt.format(L=c.letter, T=c.text), ch).key == c.key


# ---------------------------------------------------------------- metrics


def _oracle(y, p, k):
    n = len(y)
    acc = sum(int(a == b) for a, b in zip(y, p, strict=True)) / n
    f1s, recs = [], []
    for c in range(k):
        tp = sum(1 for a, b in zip(y, p, strict=True) if a == c and b == c)
        fp = sum(1 for a, b in zip(y, p, strict=True) if a != c and b == c)
        fn = sum(1 for a, b in zip(y, p, strict=True) if a == c and b != c)
        f1s.append(2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0)
        if tp + fn:
            recs.append(tp / (tp + fn))
    return acc, sum(f1s) / k, sum(recs) / len(recs)


@given(st.integers(2, 4).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.tuples(st.integers(0, k - 1), st.integers(-1, k - 1)), min_size=1, max_size=60))))
def test_metrics_match_plain_loops(arg):
    k, pairs = arg
    y = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    acc, f1, bal = _oracle(y.tolist(), p.tolist(), k)
    assert accuracy(y, p) == pytest.approx(acc)
    assert macro_f1(y, p, k) == pytest.approx(f1)
    assert balanced_accuracy(y, p, k) == pytest.approx(bal)


def test_bootstrap_matches_a_loop_oracle_and_is_seeded():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 40)
    p = np.where(rng.random(40) < 0.7, y, 1 - y)
    lo, hi = bootstrap_ci(y, p, 2, "macro_f1", n_boot=300, seed=11)
    g = np.random.default_rng(11)
    vals = []
    for _ in range(300):
        idx = g.integers(0, 40, 40)
        vals.append(_oracle(y[idx].tolist(), p[idx].tolist(), 2)[1])
    assert (lo, hi) == pytest.approx(tuple(np.quantile(vals, [0.025, 0.975])))
    assert bootstrap_ci(y, p, 2, "macro_f1", n_boot=300, seed=11) == (lo, hi)
    d, dlo, dhi = paired_bootstrap_diff(y, p, p, 2, n_boot=100)
    assert (d, dlo, dhi) == (0.0, 0.0, 0.0)


def test_mcnemar_exact_against_binomial_sums():
    a = np.array([1] * 10 + [0] * 2 + [1] * 5, bool)
    b = np.array([0] * 10 + [1] * 2 + [1] * 5, bool)
    r = mcnemar(a, b)
    assert (r.b, r.c) == (10, 2)
    assert r.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert mcnemar(b, a).p_value == r.p_value
    assert mcnemar(a, a).p_value == 1.0
    for bb, cc in itertools.product(range(6), range(6)):
        n = bb + cc
        if n:
            brute = sum(math.comb(n, i) for i in range(n + 1)
                        if math.comb(n, i) <= math.comb(n, bb) + 1e-9) / 2 ** n
            x = np.array([1] * bb + [0] * cc, bool)
            got = mcnemar(x, ~x).p_value
            # two-sided exact binomial test = sum of outcomes no more likely than the observed one
            assert got == pytest.approx(min(1.0, brute))


# ---------------------------------------------------------------- baseline


def test_logistic_regression_matches_torch_lbfgs_on_the_same_objective():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(int) + (x[:, 1] > 1).astype(int)
    lam = 0.7
    w = fit_logistic(x, y, 3, lam)
    wt = torch.zeros((3, 5), dtype=torch.float64, requires_grad=True)
    xd = torch.tensor(np.c_[x, np.ones(60)])
    yt = torch.tensor(y)
    reg = torch.full((3, 5), lam, dtype=torch.float64)
    reg[:, -1] = 1e-8
    opt = torch.optim.LBFGS([wt], lr=1, max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-14,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xd @ wt.T, yt, reduction="sum") + 0.5 * (reg * wt * wt).sum()
        loss.backward()
        return loss

    opt.step(closure)
    pt = torch.softmax(xd @ wt.detach().T, 1).numpy()
    assert predict_proba(w, x) == pytest.approx(pt, abs=1e-5)


def test_cross_validation_prefers_weak_penalty_on_separable_and_strong_on_noise():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 3))
    y_sep = (x[:, 0] > 0).astype(int)
    lam_sep, _ = cross_validate(x, y_sep, 2, grid=(0.01, 1.0, 1000.0))
    y_noise = rng.integers(0, 2, 80)
    lam_noise, _ = cross_validate(x, y_noise, 2, grid=(0.01, 1.0, 1000.0))
    assert lam_sep == 0.01 < lam_noise
    with pytest.raises(ValueError, match="folds"):
        cross_validate(x[:3], np.array([0, 0, 1]), 2)


def test_baseline_learns_a_planted_signal():
    def vids(n, split, off):
        out = []
        for i in range(n):
            pos = i % 2 == 0
            cls = [31] * (6 if pos else 1) + [11] * (1 if pos else 6) + [1 + (i + off) % 30]
            out.append(VideoRecord(f"{split}{i}", tuple(MGEvent(j, j + 1, c) for j, c in enumerate(cls)),
                                   label="positive" if pos else "negative", split=split))
        return out

    res = run_baseline(vids(40, "train", 0), vids(30, "test", 7), ("positive", "negative"), n_boot=200)
    assert res.metrics["accuracy"]["value"] == 1.0
    with pytest.raises(ValueError, match="needs one of"):
        run_baseline([VideoRecord("a", (), label=None)], vids(2, "t", 0), ("positive", "negative"))


# ---------------------------------------------------------------- combining orders, report


def _res(video, cond, order, disp, pred, scores=None, label="positive", mg=True):
    return ItemResult(f"{cond}/{video}/{order}", video, cond, order, label, disp, not mg or cond != "mg", mg, "k",
                      pred, "answer-line" if pred else "unparseable", "", scores, None, 1, False)


def test_combine_orders_rules():
    fx, sw = ("positive", "negative"), ("negative", "positive")
    agree = combine_orders([_res("1", "mg", "fixed", fx, "negative"), _res("1", "mg", "swapped", sw, "negative")])[0]
    assert (agree.prediction, agree.how, agree.consistent) == ("negative", "agree", True)
    assert agree.first_position == {"fixed": False, "swapped": True}
    one = combine_orders([_res("1", "mg", "fixed", fx, None), _res("1", "mg", "swapped", sw, "positive")])[0]
    assert (one.prediction, one.how, one.consistent) == ("positive", "one-parsed", None)
    none = combine_orders([_res("1", "mg", "fixed", fx, None), _res("1", "mg", "swapped", sw, None)])[0]
    assert (none.prediction, none.how) == (None, "none")
    coins = {combine_orders([_res(str(v), "mg", "fixed", fx, "positive"),
                             _res(str(v), "mg", "swapped", sw, "negative")])[0].prediction for v in range(40)}
    assert coins == {"positive", "negative"}
    s = combine_orders([_res("1", "mg", "fixed", fx, "positive", {"positive": -1.0, "negative": -1.2}),
                        _res("1", "mg", "swapped", sw, "negative", {"positive": -2.0, "negative": -0.5})])[0]
    # log-softmax sums: positive -0.598-1.701 = -2.299 < negative -0.798-0.201 = -0.999
    assert (s.prediction, s.how) == ("negative", "scores")


def _pred(video, cond, label, pred, mg):
    return VideoPrediction(video, cond, label, pred, "single", None, True, mg, {"fixed": pred}, {"fixed": None})


def test_report_values_comparisons_and_markdown(tmp_path):
    opts = ("positive", "negative")
    labels = ["positive", "negative"] * 10
    ctx = [_pred(str(i), "context", lab, "positive", False) for i, lab in enumerate(labels)]
    mg = [_pred(str(i), "context_mg", lab, lab if i < 16 else None, True) for i, lab in enumerate(labels)]
    rep = evaluate(ctx + mg, opts, n_boot=300)
    c, m = rep["conditions"]["context"], rep["conditions"]["context_mg"]
    assert c["metrics"]["accuracy"]["value"] == 0.5 and m["metrics"]["accuracy"]["value"] == 0.8
    assert m["answered"] == 0.8 and m["predicted"] == {"positive": 8, "negative": 8, "none": 4}
    assert c["metrics"]["balanced_accuracy"]["value"] == 0.5
    assert c["metrics"]["macro_f1"]["value"] == pytest.approx((2 / 3 + 0) / 2)
    (cmp,) = rep["comparisons"]
    assert (cmp["with"], cmp["without"], cmp["n"]) == ("context_mg", "context", 20)
    # right only with MG: the 8 negatives among the first 16; right only without: positives 16..19 (2)
    assert (cmp["mcnemar"]["b_only_with"], cmp["mcnemar"]["c_only_without"]) == (8, 2)
    assert cmp["mcnemar"]["p_value"] == pytest.approx(2 * sum(math.comb(10, i) for i in range(3)) / 1024)
    assert cmp["accuracy_diff"]["value"] == pytest.approx(0.3)
    md = to_markdown(rep)
    assert "| context_mg | yes | yes | 20 | 80% | 0.800 [" in md and "| context_mg | context | 20 | 0.300 [" in md
    write_json_atomic(tmp_path / "r.json", rep)
    assert json.loads((tmp_path / "r.json").read_text())["conditions"]["context"]["n"] == 20
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind


def test_report_counts_only_strict_answers_and_shows_lenient_ones_apart():
    opts = ("positive", "negative")
    labels = ["positive", "negative"] * 5
    fx, sw = ("positive", "negative"), ("negative", "positive")
    results = []
    for i, lab in enumerate(labels):  # 4 strict right answers, 3 lenient-only right, 3 refusals
        how = "answer-line" if i < 4 else "mention" if i < 7 else "refusal"
        pred = lab if i < 7 else None
        results += [_res(str(i), "mg", "fixed", fx, pred, label=lab),
                    _res(str(i), "mg", "swapped", sw, pred, label=lab)]
        results[-2:] = [ItemResult(**{**r.__dict__, "parse": how}) for r in results[-2:]]
    preds = combine_orders(results)
    assert [p.prediction for p in preds] == labels[:4] + [None] * 6
    assert [p.lenient for p in preds] == labels[:7] + [None] * 3
    c = evaluate(preds, opts, n_boot=100)["conditions"]["mg"]
    assert c["answered"] == 0.4 and c["metrics"]["accuracy"]["value"] == 0.4
    assert c["answered_lenient"] == 0.7 and c["accuracy_lenient"]["value"] == 0.7
    md = to_markdown({"conditions": {"mg": c}, "comparisons": []})
    assert "| mg | no | yes | 10 | 40% | 0.400 [" in md and "| 70% | 0.700 [" in md


def test_retry_policy_validation():
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="base_delay"):
        RetryPolicy(base_delay=2.0, max_delay=1.0)


# ---------------------------------------------------------------- docstring examples


MODULES = sorted(m.name for m in pkgutil.walk_packages(llm_eval.__path__, "reference_models.llm_eval.")
                 if not m.name.endswith("__main__") and not m.name.endswith(".hf"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {name}"


def test_interview_worked_example_files_build_and_fit(capsys):
    ex = Path(llm_eval.__file__).parent / "examples" / "interview"
    args = ["--scenario", "interview", "--events", str(ex / "events.csv"), "--video-labels", str(ex / "labels.csv")]
    assert main(["build", *args, "--conditions", "context_mg_fewshot", "--fewshot-k", "2", "--print", "1"]) == 0
    out = capsys.readouterr().out
    assert "job interview" in out and "Example 2:" in out and "A. Confident and at ease" in out
    assert main(["baseline", *args, "--n-boot", "100"]) == 0
    assert "| accuracy |" in capsys.readouterr().out
