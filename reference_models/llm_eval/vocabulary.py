"""MG class vocabularies: class names, body-region groups and which classes are not micro-gestures.

The evidence builder, the prompts and the histogram baseline never hard-code iMiGUE: they take a
:class:`MGVocabulary`. :data:`IMIGUE` is the dataset's 32 classes grouped by body region as in
``PROTOCOL.md`` (dataset paper, Fig. 2); class 32, *illustrative body language*, is the non-MG class
(written ``99`` in the label files, an alias here).

Example:
    >>> from reference_models.llm_eval.vocabulary import IMIGUE
    >>> IMIGUE.display(11), IMIGUE.region(11)
    ('Touching jaw', 'head-hand')
    >>> IMIGUE.canonical(99), IMIGUE.is_mg(32)
    (32, False)
    >>> len(IMIGUE.classes(include_non_mg=False))
    31
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from skelaug.io.imigue import IMIGUE_CLASSES

__all__ = ["IMIGUE", "MGVocabulary"]


@dataclass(frozen=True)
class MGVocabulary:
    """A set of MG classes with display names and body-region groups.

    Args:
        name: Short name recorded in reports, e.g. ``"imigue"``.
        names: Class id -> display name (what the prompt shows).
        regions: Class id -> body-region group (every class needs one).
        region_order: Display order of the region groups.
        non_mg: Class ids that are not micro-gestures (dropped when evidence excludes non-MG).
        aliases: Alternative ids in files -> canonical id (iMiGUE writes class 32 as 99).
    """

    name: str
    names: Mapping[int, str]
    regions: Mapping[int, str]
    region_order: tuple[str, ...]
    non_mg: frozenset[int] = frozenset()
    aliases: Mapping[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.names:
            raise ValueError(f"names of vocabulary {self.name!r} is empty; give at least one class")
        missing = sorted(set(self.names) - set(self.regions))
        if missing:
            raise ValueError(f"regions of vocabulary {self.name!r} lacks classes {missing}; give every class a region")
        unknown = sorted({r for r in self.regions.values() if r not in self.region_order})
        if unknown:
            raise ValueError(f"region_order of vocabulary {self.name!r} lacks regions {unknown}; add them")
        bad = sorted(set(self.non_mg) - set(self.names))
        if bad:
            raise ValueError(f"non_mg of vocabulary {self.name!r} names unknown classes {bad}")
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))
        object.__setattr__(self, "regions", MappingProxyType(dict(self.regions)))
        object.__setattr__(self, "aliases", MappingProxyType(dict(self.aliases)))

    def canonical(self, code: int) -> int:
        """The canonical class id of a file's class code; ``ValueError`` if it is not in the vocabulary."""
        c = self.aliases.get(code, code)
        if c not in self.names:
            alias = f", aliases {dict(self.aliases)}" if self.aliases else ""
            raise ValueError(f"class {code} is not in vocabulary {self.name!r} "
                             f"(ids {min(self.names)}..{max(self.names)}{alias})")
        return c

    def display(self, cls: int) -> str:
        """Display name of a canonical class id."""
        return self.names[cls]

    def region(self, cls: int) -> str:
        """Body-region group of a canonical class id."""
        return self.regions[cls]

    def is_mg(self, cls: int) -> bool:
        """Whether the class is a micro-gesture (not in ``non_mg``)."""
        return cls not in self.non_mg

    def classes(self, include_non_mg: bool = True) -> tuple[int, ...]:
        """Canonical class ids in ascending order, optionally without the non-MG classes."""
        return tuple(c for c in sorted(self.names) if include_non_mg or self.is_mg(c))


_REGION_MEMBERS: dict[str, tuple[int, ...]] = {
    "body": (20, 21, 31),
    "head": (1, 2, 28, 29),
    "hand": (22, 23, 24, 25, 26, 27, 30),
    "body-hand": (12, 13, 14, 15, 16, 17, 18, 19),
    "head-hand": (3, 4, 5, 6, 7, 8, 9, 10, 11),
    "non-MG": (32,),
}

#: iMiGUE's 32 classes; regions from PROTOCOL.md; class 32 (file code 99) is non-MG.
IMIGUE = MGVocabulary(
    name="imigue",
    names={c: (n[:1].upper() + n[1:]) + (" (non-MG)" if c == 32 else "") for c, n in IMIGUE_CLASSES.items()},
    regions={c: r for r, cs in _REGION_MEMBERS.items() for c in cs},
    region_order=tuple(_REGION_MEMBERS),
    non_mg=frozenset({32}),
    aliases={99: 32},
)
