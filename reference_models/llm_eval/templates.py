"""Versioned prompt templates: plain text files with ``$name`` placeholders (:class:`string.Template`).

Layout (``reference_models/llm_eval/prompts/``)::

    v1/                      one folder per prompt version; never edit a released version, copy it to v2
      system.txt             the system message
      user_<condition>.txt   one user message per condition (context, mg, context_mg, mg_fewshot, ...)
      evidence*.txt, example.txt, option_line.txt, answer.txt, ...   the pieces the builder fills in
      scenarios/<name>/      per-scenario files: scenario.json (options), context.txt, question.txt,
                             and optionally any generic file to override it for that scenario

A name is looked up in the scenario folder first, then in the version folder. A condition is any
``user_<condition>.txt``; what it shows follows from its placeholders: ``$context`` (the setting),
``$evidence`` (MG cues) and ``$examples`` (few-shot). Adding a condition is adding a file.

Example:
    >>> from reference_models.llm_eval.templates import PromptTemplates
    >>> t = PromptTemplates("v1")
    >>> t.render("option_line", letter="A", text="Positive")
    'A. Positive'
    >>> sorted(t.conditions())
    ['context', 'context_mg', 'context_mg_fewshot', 'mg', 'mg_fewshot']
    >>> sorted(t.placeholders("user_mg"))
    ['evidence', 'instruction', 'mg_intro', 'options', 'question']
"""

from __future__ import annotations

import hashlib
import os
import string
from pathlib import Path

__all__ = ["PROMPTS_ROOT", "PromptTemplates"]

#: Folder holding the prompt versions shipped with the recipe.
PROMPTS_ROOT = Path(__file__).resolve().parent / "prompts"


class PromptTemplates:
    """Loads and renders the template files of one prompt version (and one scenario's overrides).

    Args:
        version: Sub-folder of ``root``, e.g. ``"v1"``.
        scenario_dir: Folder whose files override the version's (a scenario's folder), or ``None``.
        root: Folder holding the versions (default: the shipped :data:`PROMPTS_ROOT`).
    """

    def __init__(self, version: str = "v1", scenario_dir: str | os.PathLike[str] | None = None,
                 root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else PROMPTS_ROOT
        self.version = version
        self.version_dir = self.root / version
        if not self.version_dir.is_dir():
            have = sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []
            raise ValueError(f"prompt version {version!r} not found under {self.root} (have {have})")
        self.scenario_dir = Path(scenario_dir) if scenario_dir is not None else None
        if self.scenario_dir is not None and not self.scenario_dir.is_dir():
            raise ValueError(f"scenario_dir {self.scenario_dir} is not a folder")
        self._cache: dict[str, tuple[Path, string.Template]] = {}

    def _dirs(self) -> list[Path]:
        return ([self.scenario_dir] if self.scenario_dir is not None else []) + [self.version_dir]

    def path(self, name: str) -> Path:
        """The file a template name resolves to (scenario folder first)."""
        for d in self._dirs():
            p = d / f"{name}.txt"
            if p.is_file():
                return p
        raise ValueError(f"no template {name!r}: looked for {name}.txt in {[str(d) for d in self._dirs()]}")

    def template(self, name: str) -> string.Template:
        """The parsed template (one trailing newline of the file is dropped)."""
        if name not in self._cache:
            p = self.path(name)
            text = p.read_text(encoding="utf-8")
            if text.endswith("\n"):
                text = text[:-1]
            tpl = string.Template(text)
            if not tpl.is_valid():
                raise ValueError(f"{p}: invalid placeholder syntax; write $name or ${{name}}, and $$ for a dollar sign")
            self._cache[name] = (p, tpl)
        return self._cache[name][1]

    def placeholders(self, name: str) -> set[str]:
        """Names of the ``$placeholders`` a template uses."""
        return set(self.template(name).get_identifiers())

    def render(self, name: str, /, **values: object) -> str:
        """Fill a template; a placeholder without a value raises ``ValueError`` naming the file."""
        tpl = self.template(name)
        missing = self.placeholders(name) - set(values)
        if missing:
            raise ValueError(f"{self.path(name)} uses {sorted(missing)}, which the builder does not provide "
                             f"here (it provides {sorted(values)})")
        return tpl.substitute({k: str(v) for k, v in values.items()})

    def has(self, name: str) -> bool:
        """Whether a template file of that name exists."""
        return any((d / f"{name}.txt").is_file() for d in self._dirs())

    def conditions(self) -> list[str]:
        """Condition names: every ``user_<condition>.txt`` in the scenario or version folder."""
        names = {p.stem[len("user_"):] for d in self._dirs() for p in d.glob("user_*.txt")}
        return sorted(names)

    def fingerprint(self) -> str:
        """SHA-256 (first 16 hex digits) over every template file in use: recorded in reports."""
        h = hashlib.sha256()
        for d in self._dirs():
            for p in sorted(d.rglob("*")):
                if p.is_file() and (d != self.version_dir or "scenarios" not in p.relative_to(d).parts):
                    h.update(str(p.relative_to(d)).encode())
                    h.update(p.read_bytes())
        return h.hexdigest()[:16]
