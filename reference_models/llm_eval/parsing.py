"""Tolerant answer parsing: free model text -> one option key, or ``None`` with the reason recorded.

Tried in order (the first that yields exactly one option wins):

1. reasoning blocks (``<think>...</think>``, also unterminated) and markdown emphasis are removed;
2. a JSON object with an ``answer`` / ``choice`` / ``option`` / ``label`` field;
3. the last ``Answer: ...`` / ``answer is ...`` line (a letter, or an option's name);
4. the whole reply is a letter or an option's name (``"B"``, ``"(b)"``, ``"Negative."``);
5. the reply starts with a lettered option (``"B. Negative ..."``, ``"(A) ..."``);
6. exactly one option is mentioned by name (a mention inside a longer option's name, like "hired"
   inside "not hired", does not count).

Nothing matching gives ``key=None`` and ``how="unparseable"`` (or ``"ambiguous"`` when several options
are named, ``"empty"`` for an empty reply); the runner records it rather than failing.

Example:
    >>> from reference_models.llm_eval.parsing import parse_answer
    >>> from reference_models.llm_eval.scenarios import Choice
    >>> ch = (Choice("negative", "A", "Negative (e.g. sad)", "Answer: A"),
    ...       Choice("positive", "B", "Positive (e.g. happy)", "Answer: B"))
    >>> parse_answer("Answer: B", ch)
    ParsedAnswer(key='positive', how='answer-line')
    >>> parse_answer("<think>maybe A?</think>\\n**Answer:** (A) Negative", ch).key
    'negative'
    >>> parse_answer('{"answer": "positive"}', ch).how
    'json'
    >>> parse_answer("The player seems positive overall.", ch)
    ParsedAnswer(key='positive', how='mention')
    >>> parse_answer("Hard to say: positive or negative.", ch)
    ParsedAnswer(key=None, how='ambiguous')
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from reference_models.llm_eval.scenarios import Choice

__all__ = ["ParsedAnswer", "parse_answer"]


@dataclass(frozen=True)
class ParsedAnswer:
    """The option key found (``None`` if none) and which rule found it (or why none did)."""

    key: str | None
    how: str


_THINK = re.compile(r"<(think|thinking|reasoning)>.*?(</\1>|$)", re.S | re.I)
_JSON = re.compile(r"\{[^{}]*\}", re.S)
_ANSWER = re.compile(r"\banswer\b\s*(?:is\b|:|=|-)?\s*:?\s*(.+)", re.I)
_LEAD_LETTER = re.compile(r"^\(?([A-Za-z])\s*(?:[).:\-\]]|$)")


def _names(c: Choice) -> list[str]:
    head = re.split(r"\s*[(,;:]", c.text, maxsplit=1)[0]
    out = {c.key.lower(), c.key.replace("_", " ").lower(), head.strip().lower()}
    return sorted((n for n in out if n), key=len, reverse=True)


def _mentions(text: str, choices: Sequence[Choice]) -> set[str]:
    low = text.lower()
    spans: list[tuple[int, int, str]] = []
    for c in choices:
        for n in _names(c):
            for m in re.finditer(r"(?<![a-z0-9])" + re.escape(n) + r"(?![a-z0-9])", low):
                spans.append((m.start(), m.end(), c.key))
    kept = {k for a, b, k in spans if not any(a2 <= a and b <= b2 and (b2 - a2) > (b - a) and k2 != k
                                             for a2, b2, k2 in spans)}
    return kept


def _fragment(s: str, choices: Sequence[Choice]) -> str | None:
    """Interpret a short fragment (after "Answer:"): a letter first, else a unique option name."""
    frag = s.strip().strip("*`\"' ").strip()
    by_letter = {c.letter.upper(): c.key for c in choices}
    core = frag.strip("()[].:- ")
    if len(core) == 1 and core.upper() in by_letter:  # "B", "(b)", "a."
        return by_letter[core.upper()]
    m = _LEAD_LETTER.match(frag)
    if m and m.group(1).isupper() and m.group(1) in by_letter:  # "B. Negative", "(A) ..."
        return by_letter[m.group(1)]
    found = _mentions(frag, choices)
    return found.pop() if len(found) == 1 else None


def parse_answer(text: str, choices: Sequence[Choice]) -> ParsedAnswer:
    """Find the chosen option in a model's reply (see the module docstring for the rules)."""
    if not choices:
        raise ValueError("choices is empty; pass the prompt's choices in displayed order")
    body = _THINK.sub(" ", text or "").replace("**", "").replace("__", "").strip()
    if not body:
        return ParsedAnswer(None, "empty")
    for m in _JSON.finditer(body):
        try:
            obj = json.loads(m.group(0))
        except ValueError:
            continue
        if isinstance(obj, dict):
            for field in ("answer", "choice", "option", "label"):
                if field in obj and isinstance(obj[field], str | int):
                    key = _fragment(str(obj[field]), choices)
                    if key is not None:
                        return ParsedAnswer(key, "json")
    lines = [ln for ln in body.splitlines() if ln.strip()]
    for ln in reversed(lines):
        found_lines = list(_ANSWER.finditer(ln))
        if found_lines:
            am = found_lines[-1]
            key = _fragment(am.group(1), choices)
            if key is not None:
                return ParsedAnswer(key, "answer-line")
    stripped = body.strip().strip(".!*`\"' ").strip()
    for c in choices:
        if stripped.lower() in _names(c) or re.fullmatch(r"\(?" + c.letter + r"\)?", stripped, re.I):
            return ParsedAnswer(c.key, "whole")
    lead = _LEAD_LETTER.match(lines[0].strip()) if lines else None
    by_letter = {c.letter: c.key for c in choices}
    if lead and lead.group(1) in by_letter:
        return ParsedAnswer(by_letter[lead.group(1)], "leading-letter")
    found = _mentions(body, choices)
    if len(found) == 1:
        return ParsedAnswer(found.pop(), "mention")
    return ParsedAnswer(None, "ambiguous" if found else "unparseable")
