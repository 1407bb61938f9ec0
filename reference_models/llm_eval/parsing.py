"""Honest answer parsing: free model text -> one option key, or ``None`` with the reason recorded.

A reply is read the way a careful human grader would. **Strict** rules accept an explicit commitment
to one option, where the option stands at the start of the answer fragment (what follows may explain):

1. ``json``: a JSON object with an ``answer`` / ``choice`` / ``option`` / ``label`` field;
2. ``boxed``: ``\\boxed{B}`` (maths-style reasoning models);
3. ``answer-line``: the last ``Answer: ...`` / ``The answer is ...`` / ``Final answer ...`` line, or
   an ``Answer`` heading followed by the answer on the next line;
4. ``whole``: the whole reply is a letter or an option's name (``"B"``, ``"(b)"``, ``"Negative."``);
5. ``leading``: the reply opens with a lettered option or an option's name followed by punctuation
   (``"B. Positive - the player ..."``, ``"(A) ..."``, ``"Negative. The player ..."``).

A fragment naming two options (``"A or B"``) or a letter whose option name disagrees with the name
written after it (``"A. Positive"`` when A is negative) is not an answer.

The **lenient** rule ``mention`` accepts prose that names exactly one option, provided the reply has
no refusal, hedge, negation or question (``"The player seems positive overall."``). Option names are
masked before looking for those cues, so an option called "not hired" or "cannot tell" still counts.

Reasoning blocks (``<think>...</think>``, also a bare closing tag when the server swallowed the
opening one) and markdown emphasis / headings are removed first. Nothing accepted gives
``key=None`` and ``how`` saying why: ``empty``, ``reasoning-only`` (the reply ended inside its
reasoning), ``refusal``, ``ambiguous`` (several options), ``conflict``, ``negated``, ``hedged`` or
``unparseable``. The runner records these rather than failing; the report's main metrics use only
strict answers (:attr:`ParsedAnswer.strict`) and shows lenient ones separately.

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
    >>> p = parse_answer("The player seems positive overall.", ch); p, p.strict
    (ParsedAnswer(key='positive', how='mention'), False)
    >>> parse_answer("I cannot tell whether the player felt positive.", ch)
    ParsedAnswer(key=None, how='refusal')
    >>> parse_answer("Not negative, but I cannot say more.", ch).key is None
    True
    >>> parse_answer("Hard to say: positive or negative.", ch)
    ParsedAnswer(key=None, how='ambiguous')
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from reference_models.llm_eval.scenarios import Choice

__all__ = ["LENIENT_RULES", "STRICT_RULES", "ParsedAnswer", "parse_answer"]

#: Rules whose answers a careful reader accepts; the report's main metrics count only these.
STRICT_RULES = frozenset({"json", "boxed", "answer-line", "whole", "leading"})
#: Rules that accept an answer only in the report's lenient column.
LENIENT_RULES = frozenset({"mention"})


@dataclass(frozen=True)
class ParsedAnswer:
    """The option key found (``None`` if none) and which rule found it (or why none did)."""

    key: str | None
    how: str

    @property
    def strict(self) -> bool:
        """Whether a strict rule (an explicit commitment) found the answer."""
        return self.key is not None and self.how in STRICT_RULES


_THINK = re.compile(r"<(think|thinking|reasoning)>.*?(</\1>|$)", re.S | re.I)
_CLOSE_THINK = re.compile(r"^.*</(?:think|thinking|reasoning)>", re.S | re.I)
_JSON = re.compile(r"\{[^{}]*\}", re.S)
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_ANSWER = re.compile(r"\b(?:final\s+|correct\s+|my\s+)?answer\b\s*(?:is\b|would\s+be\b|:|=|-|\u2014)?\s*:?\s*(.*)",
                     re.I)
_HEADING = re.compile(r"^\s*(?:#+\s*)?(?:final\s+)?answer\s*:?\s*$", re.I)
_LETTER = re.compile(r"^\(?\[?([A-Za-z])(?:\)|\]|(?=[\s.,;:!\-\u2014]|$))")
_OPTION_WORD = re.compile(r"^(?:option|choice)\s+", re.I)
_JOIN = re.compile(r"^\s*(?:or|/|and|vs\.?|versus|\|)\s", re.I)
_REFUSAL = re.compile(
    r"\b(?:can ?not|can't|unable|impossible|insufficient|not enough|no way|(?:don't|do not|doesn't) know|won't|"
    r"will not|refuse|sorry|as an ai|not possible|undetermin\w*|indetermin\w*|not able|decline|"
    r"no (?:clear|definitive|reliable|conclusive)|inconclusive)\b")
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|without|unlike|instead|rather than|opposite)\b|n't\b")
_HEDGE = re.compile(r"\b(?:maybe|perhaps|possibl[ey]|probabl[ey]|likely|might|could|may|unclear|uncertain|unsure|"
                    r"hard to|difficult to|either|ambiguous|guess|mixed)\b|\?")


def _names(c: Choice) -> list[str]:
    head = re.split(r"\s*[(,;:]", c.text, maxsplit=1)[0]
    out = {c.key.lower(), c.key.replace("_", " ").lower(), head.strip().lower()}
    return sorted((n for n in out if n), key=len, reverse=True)


def _spans(text: str, choices: Sequence[Choice]) -> list[tuple[int, int, str]]:
    """Option-name occurrences, dropping those inside a longer name of another option."""
    low = text.lower()
    spans: list[tuple[int, int, str]] = []
    for c in choices:
        for n in _names(c):
            for m in re.finditer(r"(?<![a-z0-9])" + re.escape(n) + r"(?![a-z0-9])", low):
                spans.append((m.start(), m.end(), c.key))
    return [(a, b, k) for a, b, k in spans
            if not any(a2 <= a and b <= b2 and (b2 - a2) > (b - a) for a2, b2, _ in spans)]


def _lead_name(frag: str, choices: Sequence[Choice]) -> tuple[str, int] | None:
    """The option whose name the fragment starts with (longest name wins) and where the name ends."""
    low = frag.lower()
    best: tuple[str, int] | None = None
    for c in choices:
        for n in _names(c):
            if low.startswith(n) and (len(low) == len(n) or not low[len(n)].isalnum()):
                if best is None or len(n) > best[1]:
                    best = (c.key, len(n))
    return best


def _clean_fragment(s: str) -> str:
    frag = s.strip().strip("*`\"'\u201c\u201d ").strip()
    return _OPTION_WORD.sub("", frag)


def _strict(frag: str, choices: Sequence[Choice], *, leading: bool = False) -> tuple[str | None, str | None]:
    """Interpret an answer fragment strictly: ``(key, None)`` or ``(None, reason)`` / ``(None, None)``.

    The option must open the fragment, as a letter (``B``, ``(b)``, ``B.``) or a name; a following
    ``or <option>`` makes it ambiguous, a different option's name right after a letter a conflict.
    ``leading`` (the opening of a whole reply, not an answer line) needs an upper-case letter with a
    bracket or punctuation after it (``"A player ..."`` is not an answer) and punctuation after a name.
    """
    frag = _clean_fragment(frag)
    if not frag:
        return None, None
    by_letter = {c.letter.upper(): c.key for c in choices}
    key: str | None = None
    rest = ""
    m = _LETTER.match(frag)
    if m and m.group(1).upper() in by_letter:
        letter = m.group(1)
        core = frag.strip("()[].:- ")
        delimited = frag[m.end() - 1] in ")]" or m.end() == len(frag) or frag[m.end()] in ".:-\u2014"
        if leading:
            ok = letter.isupper() and delimited
        else:
            ok = letter.isupper() or len(core) == 1 or frag[m.end() - 1] in ")]"
        if ok:
            key, rest = by_letter[letter.upper()], frag[m.end():]
            after = rest.lstrip(" .):-]\u2014")
            named = _lead_name(after, choices)
            if named is not None and named[0] != key:
                return None, "conflict"
            if named is not None:
                rest = after[named[1]:]
    if key is None:
        named = _lead_name(frag, choices)
        if named is None:
            return None, None
        key, rest = named[0], frag[named[1]:]
        if leading and rest and not re.match(r"^\s*[.!:;,\-\u2014\n(]", rest):
            return None, None
    if _JOIN.match(rest):
        return None, "ambiguous"
    return key, None


def _cues(text: str, choices: Sequence[Choice]) -> tuple[set[str], str]:
    """Options named in ``text`` and the text with those names masked (for cue detection)."""
    spans = _spans(text, choices)
    low = text.lower().replace("\u2019", "'")
    masked = list(low)
    for a, b, _ in spans:
        masked[a:b] = " " * (b - a)
    return {k for _, _, k in spans}, "".join(masked)


def parse_answer(text: str, choices: Sequence[Choice]) -> ParsedAnswer:
    """Find the chosen option in a model's reply (see the module docstring for the rules)."""
    if not choices:
        raise ValueError("choices is empty; pass the prompt's choices in displayed order")
    raw = text or ""
    if not raw.strip():
        return ParsedAnswer(None, "empty")
    body = _CLOSE_THINK.sub(" ", _THINK.sub(" ", raw))
    body = body.replace("**", "").replace("__", "")
    body = "\n".join(re.sub(r"^\s*#+\s*", "", ln) for ln in body.splitlines()).strip()
    if not body:
        return ParsedAnswer(None, "reasoning-only")
    reason: str | None = None
    for m in _JSON.finditer(body):
        try:
            obj = json.loads(m.group(0))
        except ValueError:
            continue
        if isinstance(obj, dict):
            for field in ("answer", "choice", "option", "label"):
                if field in obj and isinstance(obj[field], str | int):
                    key, why = _strict(str(obj[field]), choices)
                    if key is not None:
                        return ParsedAnswer(key, "json")
                    reason = reason or why
    boxed = _BOXED.findall(body)
    if boxed:
        key, why = _strict(boxed[-1], choices)
        if key is not None:
            return ParsedAnswer(key, "boxed")
        reason = reason or why
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    for i in range(len(lines) - 1, -1, -1):
        ln = lines[i]
        if _HEADING.match(ln) and i + 1 < len(lines):
            frag = lines[i + 1]
        else:
            found = list(_ANSWER.finditer(ln))
            if not found:
                continue
            frag = found[-1].group(1)
        key, why = _strict(frag, choices)
        if key is not None:
            return ParsedAnswer(key, "answer-line")
        reason = reason or why
        break  # the last answer line decides; an earlier one may be a draft the model revised
    whole = body.strip().strip(".!*`\"' ").strip()
    for c in choices:
        if whole.lower() in _names(c) or re.fullmatch(r"\(?" + c.letter + r"\)?", whole, re.I):
            return ParsedAnswer(c.key, "whole")
    key, why = _strict(lines[0], choices, leading=True)
    if key is not None:
        return ParsedAnswer(key, "leading")
    reason = reason or why
    named, masked = _cues(body, choices)
    if _REFUSAL.search(masked):
        return ParsedAnswer(None, "refusal")
    if len(named) > 1:
        return ParsedAnswer(None, "ambiguous")
    if reason is not None:
        return ParsedAnswer(None, reason)
    if _NEGATION.search(masked):
        return ParsedAnswer(None, "negated")
    if _HEDGE.search(masked):
        return ParsedAnswer(None, "hedged")
    if not named:
        return ParsedAnswer(None, "unparseable")
    return ParsedAnswer(named.pop(), "mention")
