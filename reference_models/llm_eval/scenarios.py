"""Scenarios and the prompt builder: per-video MG evidence -> multiple-choice chat prompts.

A **scenario** is a folder of text files (see :mod:`.templates`): ``scenario.json`` with the answer
options (``[key, display text]`` pairs, in canonical order), the subject (``"the player"``) and a
neutral subject for prompts that must not reveal the setting (``"the person"``); ``context.txt``
(the setting) and ``question.txt``. Shipped: ``press_conference`` (iMiGUE: won = positive, lost =
negative) and ``interview`` (the worked example of a new scenario; see the README). Your own
scenario folder can live anywhere: ``Scenario.load("path/to/folder")``.

A **condition** is a user-message template. The five shipped ones:

============================ ======== ========= ==========================================
condition                    setting  MG cues   few-shot examples (from training videos)
============================ ======== ========= ==========================================
``context``                  yes      no        no
``mg``                       no       yes       no
``context_mg``               yes      yes       no
``mg_fewshot``               no       yes       yes
``context_mg_fewshot``       yes      yes       yes
============================ ======== ========= ==========================================

**Answer order** controls position bias: ``fixed`` lists the options in canonical order,
``swapped`` reversed, ``both`` asks twice (fixed and swapped; combined by
:func:`~reference_models.llm_eval.runner.combine_orders`) and ``shuffled`` uses a seeded
permutation per (video, condition).

**Few-shot examples** are ``fewshot_k`` training videos, balanced over the labels (round-robin over
labels, each label's videos in a seeded random order), the video itself excluded. With
``fewshot_sampling="per_item"`` each target video gets its own draw (seeded by ``seed`` and the
video id, so every condition and both answer orders see the same examples); ``"fixed"`` uses one
draw for all videos (cheaper with servers that cache prompt prefixes).

Example:
    >>> from reference_models.llm_eval.events import MGEvent, VideoRecord
    >>> from reference_models.llm_eval.scenarios import BuildConfig, Scenario, build_items
    >>> sc = Scenario.load("press_conference")
    >>> sc.options
    ('positive', 'negative')
    >>> v = VideoRecord("9", (MGEvent(1.0, 2.5, 31), MGEvent(4.0, 5.0, 11)), label="negative")
    >>> items = build_items(sc, [v], BuildConfig(conditions=("context_mg",), order="both"))
    >>> [(it.order, [c.key for c in it.choices]) for it in items]
    [('fixed', ['positive', 'negative']), ('swapped', ['negative', 'positive'])]
    >>> print(items[0].messages[1][1])  # doctest: +ELLIPSIS
    Setting: a professional tennis player ...
    <BLANKLINE>
    Micro-gestures (MGs) are ...
    <BLANKLINE>
    Observed time: 0:05.0 (minutes:seconds). Gestures recorded: 2.
    In order of appearance (start-end, micro-gesture, body region):
    1. 0:01.0-0:02.5 Shaking shoulders [body]
    2. 0:04.0-0:05.0 Touching jaw [head-hand]
    ...
    A. Positive (for example satisfied, relieved, cheerful)
    B. Negative (for example disappointed, frustrated, dejected)
    <BLANKLINE>
    Reply with a single line of the form "Answer: X", where X is the letter of your choice.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from reference_models.llm_eval.events import VideoRecord
from reference_models.llm_eval.evidence import Evidence, summarize
from reference_models.llm_eval.templates import PROMPTS_ROOT, PromptTemplates
from reference_models.llm_eval.vocabulary import IMIGUE, MGVocabulary

__all__ = [
    "DEFAULT_CONDITIONS",
    "BuildConfig",
    "Choice",
    "PromptItem",
    "Scenario",
    "build_items",
    "fewshot_examples",
    "render_evidence",
]

Order = Literal["fixed", "swapped", "both", "shuffled"]
DEFAULT_CONDITIONS: tuple[str, ...] = ("context", "mg", "context_mg", "mg_fewshot", "context_mg_fewshot")
_PARTS = ("sequence", "counts", "regions")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Scenario:
    """A reasoning scenario: answer options and the folder of its text files.

    Use :meth:`load`; the fields mirror ``scenario.json``.
    """

    name: str
    folder: Path
    options: tuple[str, ...]
    option_texts: Mapping[str, str]
    subject: str
    neutral_subject: str
    description: str = ""
    version: str = "v1"
    prompts_root: Path = PROMPTS_ROOT

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str], version: str = "v1",
             prompts_root: str | os.PathLike[str] | None = None) -> Scenario:
        """Load a shipped scenario by name (``"press_conference"``, ``"interview"``) or any scenario folder."""
        root = Path(prompts_root) if prompts_root is not None else PROMPTS_ROOT
        shipped_dir = root / version / "scenarios" / str(name_or_path)
        is_name = isinstance(name_or_path, str) and "/" not in name_or_path and os.sep not in name_or_path
        folder = shipped_dir if is_name and shipped_dir.is_dir() else Path(name_or_path)
        spec_path = folder / "scenario.json"
        if not spec_path.is_file():
            shipped = sorted(d.name for d in (root / version / "scenarios").glob("*") if d.is_dir())
            raise ValueError(f"scenario {str(name_or_path)!r}: no {spec_path}; give a folder with scenario.json or "
                             f"one of {shipped}")
        try:
            spec = json.loads(spec_path.read_text(encoding="utf-8"))
            opts = [(str(k), str(t)) for k, t in spec["options"]]
            subject = str(spec.get("subject", "the person"))
            neutral = str(spec.get("neutral_subject", "the person"))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{spec_path}: {e!r}; expected {{\"options\": [[key, text], ...], \"subject\": ...}}") \
                from None
        keys = [k for k, _ in opts]
        if len(keys) < 2 or len(set(keys)) != len(keys) or len(keys) > len(LETTERS):
            raise ValueError(f"{spec_path}: options {keys} must be 2..26 distinct keys")
        sc = cls(name=folder.name, folder=folder, options=tuple(keys), option_texts=dict(opts), subject=subject,
                 neutral_subject=neutral, description=str(spec.get("description", "")), version=version,
                 prompts_root=root)
        for need in ("context", "question"):
            sc.templates().path(need)  # fail early, naming the folder
        return sc

    def templates(self) -> PromptTemplates:
        """The templates of this scenario (its folder overrides the version's generic files)."""
        return PromptTemplates(self.version, self.folder, self.prompts_root)


@dataclass(frozen=True)
class Choice:
    """An answer option as shown in one prompt: its key, letter, display text and answer string."""

    key: str
    letter: str
    text: str
    answer: str


@dataclass(frozen=True)
class PromptItem:
    """One request: a video under one condition and one answer order.

    ``messages`` are ``(role, content)`` pairs; ``choices`` are in displayed order.
    """

    item_id: str
    video: str
    condition: str
    order: str
    choices: tuple[Choice, ...]
    messages: tuple[tuple[str, str], ...]
    label: str | None
    shows_context: bool
    shows_mg: bool
    fewshot_videos: tuple[str, ...] = ()

    def chat(self) -> list[dict[str, str]]:
        """Messages in the OpenAI chat format."""
        return [{"role": r, "content": c} for r, c in self.messages]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``prompts.jsonl``)."""
        return {"item_id": self.item_id, "video": self.video, "condition": self.condition, "order": self.order,
                "label": self.label, "shows_context": self.shows_context, "shows_mg": self.shows_mg,
                "fewshot_videos": list(self.fewshot_videos),
                "choices": [{"key": c.key, "letter": c.letter, "text": c.text, "answer": c.answer}
                            for c in self.choices],
                "messages": self.chat()}


@dataclass(frozen=True)
class BuildConfig:
    """What the builder shows.

    Args:
        conditions: Condition names (``user_<name>.txt`` templates).
        order: Answer order policy (``fixed``, ``swapped``, ``both``, ``shuffled``).
        include_non_mg: Keep the non-MG class (illustrative body language) in the evidence.
        evidence_parts: Which of ``sequence``, ``counts``, ``regions`` to show.
        max_sequence: Show at most this many events of the ordered sequence (``None``: all).
        fewshot_k: Number of few-shot examples.
        fewshot_sampling: ``per_item`` or ``fixed`` (see the module docstring).
        seed: Seed of the few-shot draws and of ``shuffled`` orders.
    """

    conditions: tuple[str, ...] = DEFAULT_CONDITIONS
    order: Order = "both"
    include_non_mg: bool = True
    evidence_parts: tuple[str, ...] = _PARTS
    max_sequence: int | None = 200
    fewshot_k: int = 4
    fewshot_sampling: Literal["per_item", "fixed"] = "per_item"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.order not in ("fixed", "swapped", "both", "shuffled"):
            raise ValueError(f"order is {self.order!r}; use 'fixed', 'swapped', 'both' or 'shuffled'")
        bad = [p for p in self.evidence_parts if p not in _PARTS]
        if bad or not self.evidence_parts:
            raise ValueError(f"evidence_parts is {self.evidence_parts!r}; use a non-empty subset of {_PARTS}")
        if self.max_sequence is not None and self.max_sequence < 1:
            raise ValueError(f"max_sequence is {self.max_sequence}; use a positive count or None for all")
        if self.fewshot_k < 1:
            raise ValueError(f"fewshot_k is {self.fewshot_k}; use at least 1")
        if self.fewshot_sampling not in ("per_item", "fixed"):
            raise ValueError(f"fewshot_sampling is {self.fewshot_sampling!r}; use 'per_item' or 'fixed'")
        if not self.conditions or len(set(self.conditions)) != len(self.conditions):
            raise ValueError(f"conditions is {self.conditions!r}; give distinct condition names")


def _mmss(seconds: float) -> str:
    m, s = divmod(round(seconds, 1), 60.0)
    return f"{int(m)}:{s:04.1f}"


def render_evidence(ev: Evidence, templates: PromptTemplates, vocabulary: MGVocabulary = IMIGUE,
                    parts: Sequence[str] = _PARTS, max_sequence: int | None = None) -> str:
    """The evidence block of one video, filled into the ``evidence*`` templates."""
    t = templates
    if ev.num_events == 0:
        sections = t.render("evidence_empty")
    else:
        blocks = []
        if "sequence" in parts:
            shown = ev.sequence if max_sequence is None else ev.sequence[:max_sequence]
            lines = [t.render("evidence_sequence_line", index=i + 1, start=_mmss(e.start), end=_mmss(e.end),
                              name=vocabulary.display(e.mg_class), region=vocabulary.region(e.mg_class))
                     for i, e in enumerate(shown)]
            if len(shown) < ev.num_events:
                lines.append(t.render("evidence_sequence_more", remaining=ev.num_events - len(shown)))
            blocks.append(t.render("evidence_sequence", lines="\n".join(lines)))
        if "counts" in parts:
            lines = [t.render("evidence_counts_line", name=vocabulary.display(c), count=n, rate=f"{ev.rates[c]:.2f}")
                     for c, n in ev.counts.items()]
            blocks.append(t.render("evidence_counts", lines="\n".join(lines)))
        if "regions" in parts:
            lines = [t.render("evidence_regions_line", region=r, count=n) for r, n in ev.region_counts.items()]
            blocks.append(t.render("evidence_regions", lines="\n".join(lines)))
        sections = "\n\n".join(blocks)
    return t.render("evidence", duration=_mmss(ev.duration), num_events=ev.num_events, sections=sections)


def _stable_int(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "little")


def fewshot_examples(target: str, pool: Sequence[VideoRecord], options: Sequence[str], k: int, seed: int,
                     per_item: bool = True) -> list[VideoRecord]:
    """Draw ``k`` labelled examples from ``pool`` for ``target``, balanced over ``options`` (see module docs).

    >>> from reference_models.llm_eval.events import VideoRecord
    >>> pool = [VideoRecord(str(i), (), label="positive" if i % 2 else "negative") for i in range(10)]
    >>> ex = fewshot_examples("3", pool, ("positive", "negative"), k=4, seed=0)
    >>> sorted(v.label for v in ex), "3" in {v.video for v in ex}
    (['negative', 'negative', 'positive', 'positive'], False)
    """
    rng = np.random.default_rng([seed, _stable_int(target) if per_item else 0])
    by_label: dict[str, list[VideoRecord]] = {o: [] for o in options}
    for v in pool:
        if v.video != target and v.label in by_label:
            by_label[v.label].append(v)
    queues = {o: [vs[i] for i in rng.permutation(len(vs))] for o, vs in by_label.items()}
    picked: list[VideoRecord] = []
    while len(picked) < k and any(queues.values()):
        for o in options:
            if queues[o] and len(picked) < k:
                picked.append(queues[o].pop(0))
    if len(picked) < k:
        raise ValueError(f"the few-shot pool has only {len(picked)} labelled videos besides {target!r}; "
                         f"fewshot_k is {k}: lower it or give more training videos")
    return [picked[i] for i in rng.permutation(len(picked))]


def _orders(sc: Scenario, cfg: BuildConfig, video: str, condition: str) -> list[tuple[str, tuple[str, ...]]]:
    fixed = sc.options
    if cfg.order == "fixed":
        return [("fixed", fixed)]
    if cfg.order == "swapped":
        return [("swapped", fixed[::-1])]
    if cfg.order == "both":
        return [("fixed", fixed), ("swapped", fixed[::-1])]
    rng = np.random.default_rng([cfg.seed, _stable_int(video, condition)])
    return [("shuffled", tuple(fixed[i] for i in rng.permutation(len(fixed))))]


def build_items(scenario: Scenario, videos: Sequence[VideoRecord], config: BuildConfig | None = None, *,
                fewshot_pool: Sequence[VideoRecord] = (), vocabulary: MGVocabulary = IMIGUE) -> list[PromptItem]:
    """Prompts for every video x condition x answer order, in that nesting order.

    Args:
        scenario: The scenario (options, texts).
        videos: Videos to ask about (their ``label`` must be an option key or ``None``).
        config: What to show (default :class:`BuildConfig`).
        fewshot_pool: Labelled videos few-shot examples are drawn from (the training videos).
        vocabulary: MG class names and regions.

    Raises:
        ValueError: unknown condition, label not an option, few-shot condition without enough pool.
    """
    cfg = config if config is not None else BuildConfig()
    t = scenario.templates()
    have = t.conditions()
    unknown = [c for c in cfg.conditions if c not in have]
    if unknown:
        raise ValueError(f"conditions {unknown} have no user_<condition>.txt template; available: {have}")
    for v in list(videos) + list(fewshot_pool):
        if v.label is not None and v.label not in scenario.options:
            raise ValueError(f"video {v.video!r} has label {v.label!r}, not an option of scenario "
                             f"{scenario.name!r} {scenario.options}")
    evidence_cache: dict[str, str] = {}

    def evidence_of(v: VideoRecord) -> str:
        if v.video not in evidence_cache:
            ev = summarize(v, vocabulary, include_non_mg=cfg.include_non_mg)
            evidence_cache[v.video] = render_evidence(ev, t, vocabulary, cfg.evidence_parts, cfg.max_sequence)
        return evidence_cache[v.video]

    system = t.render("system")
    items = []
    for v in videos:
        for cond in cfg.conditions:
            name = f"user_{cond}"
            ph = t.placeholders(name)
            shows_context, shows_mg, fewshot = "context" in ph, "evidence" in ph, "examples" in ph
            subject = scenario.subject if shows_context else scenario.neutral_subject
            examples = (fewshot_examples(v.video, fewshot_pool, scenario.options, cfg.fewshot_k, cfg.seed,
                                         cfg.fewshot_sampling == "per_item") if fewshot else [])
            for tag, keys in _orders(scenario, cfg, v.video, cond):
                letter = {k: LETTERS[i] for i, k in enumerate(keys)}
                choices = tuple(Choice(k, letter[k], scenario.option_texts[k], t.render("answer", letter=letter[k]))
                                for k in keys)
                values: dict[str, object] = {
                    "subject": subject,
                    "options": "\n".join(t.render("option_line", letter=c.letter, text=c.text) for c in choices),
                    "instruction": t.render("instruction"),
                }
                values["question"] = t.render("question", **values)
                if shows_context:
                    values["context"] = t.render("context", **values)
                if shows_mg or fewshot:
                    values["mg_intro"] = t.render("mg_intro", **values)
                if shows_mg:
                    values["evidence"] = evidence_of(v)
                if fewshot:
                    assert all(ex.label is not None for ex in examples)
                    values["examples_intro"] = t.render("examples_intro", **values)
                    values["examples"] = "\n\n".join(
                        t.render("example", index=i + 1, evidence=evidence_of(ex),
                                 answer=t.render("answer", letter=letter[str(ex.label)]))
                        for i, ex in enumerate(examples))
                user = t.render(name, **values)
                items.append(PromptItem(
                    item_id=f"{scenario.name}/{cond}/{v.video}/{tag}", video=v.video, condition=cond, order=tag,
                    choices=choices, messages=(("system", system), ("user", user)), label=v.label,
                    shows_context=shows_context, shows_mg=shows_mg,
                    fewshot_videos=tuple(ex.video for ex in examples)))
    return items
