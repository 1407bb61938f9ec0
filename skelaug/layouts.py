"""Skeleton layouts: joint names, kinematic tree, format edges, mirror map and body parts.

Every topology-dependent operation in skelaug takes its topology from a :class:`SkeletonLayout`;
nothing is hard-coded to NTU-25.

A layout carries two related edge sets:

* ``bones`` -- the *kinematic tree*, a list of ``(child, parent)`` pairs that connects every joint
  to a single root. Bone-length scaling and part-local transforms walk this tree. Where a format
  draws no link between two components (MediaPipe's mouth and face are not connected to the body),
  the tree adds the anatomically obvious link and says so in the layout's ``notes``.
* ``connections`` -- the format's own drawn edges (OpenPose ``POSE_PAIRS``, COCO ``skeleton``,
  MediaPipe ``POSE_CONNECTIONS``, Kinect v2 SDK bones), which may contain cycles.

:meth:`SkeletonLayout.edge_index` returns the union of both, undirected, in PyG format, so a graph
layer sees every edge the format draws and the graph is connected.

Example:
    >>> from skelaug import layouts
    >>> ntu = layouts.get("ntu25")
    >>> ntu.num_joints, ntu.dim
    (25, 3)
    >>> ntu.joint_names[ntu.mirror[4]]
    'right_shoulder'
    >>> tuple(ntu.edge_index().shape)
    (2, 48)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["SkeletonLayout", "get", "names", "register"]


def _pairs(items: Iterable[Sequence[int]]) -> tuple[tuple[int, int], ...]:
    return tuple((int(a), int(b)) for a, b in items)


@dataclass(frozen=True, eq=False)
class SkeletonLayout:
    """A skeleton topology.

    Args:
        name: Registry name, e.g. ``"ntu25"``.
        joint_names: One name per joint, in the format's joint order.
        bones: Kinematic tree as ``(child, parent)`` pairs; every joint but one root has exactly one
            parent and the tree is connected.
        mirror: Left/right permutation: ``mirror[v]`` is the index of the twin of joint ``v``
            (midline joints map to themselves). Must be an involution that preserves ``bones`` and
            ``connections``.
        parts: Named body parts, each a tuple of joint indices (parts may overlap).
        part_roots: For each part, the joint it pivots about in part-local transforms.
        centre: Joints whose mean is the body centre (one midline joint, or a symmetric pair).
        dim: Coordinate dimensionality of the format (2 for image-plane, 3 for world).
        connections: The format's own drawn edges (undirected pairs). Defaults to ``bones``.
        notes: Free text on provenance and deviations from the format.
        y_down: Whether the second coordinate grows downwards, as in image (pixel or normalised image)
            coordinates; ``False`` for world coordinates with y up. Default: ``dim == 2``. Drawing
            (:mod:`skelaug.viz`) follows it, so skeletons are drawn head up.

    The constructor validates everything and raises :class:`ValueError` naming the field.
    """

    name: str
    joint_names: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    mirror: tuple[int, ...]
    parts: Mapping[str, tuple[int, ...]]
    part_roots: Mapping[str, int]
    centre: tuple[int, ...]
    dim: int
    connections: tuple[tuple[int, int], ...] = ()
    notes: str = ""
    y_down: bool | None = None
    _parent: tuple[int, ...] = field(init=False, repr=False)
    _order: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "joint_names", tuple(str(n) for n in self.joint_names))
        set_(self, "bones", _pairs(self.bones))
        set_(self, "mirror", tuple(int(i) for i in self.mirror))
        set_(self, "connections", _pairs(self.connections) if self.connections else self.bones)
        set_(self, "centre", tuple(int(i) for i in self.centre))
        set_(self, "parts", MappingProxyType({k: tuple(int(i) for i in v) for k, v in self.parts.items()}))
        set_(self, "part_roots", MappingProxyType({k: int(v) for k, v in self.part_roots.items()}))
        set_(self, "y_down", self.dim == 2 if self.y_down is None else bool(self.y_down))
        v = len(self.joint_names)
        where = f"layout {self.name!r}"
        if v == 0:
            raise ValueError(f"{where}: joint_names is empty; give one name per joint")
        if len(set(self.joint_names)) != v:
            raise ValueError(f"{where}: joint_names contains duplicates; joint names must be unique")
        if self.dim not in (2, 3):
            raise ValueError(f"{where}: dim={self.dim}; use 2 (image plane) or 3 (world coordinates)")

        def check_index(i: int, what: str) -> None:
            if not 0 <= i < v:
                raise ValueError(f"{where}: {what} refers to joint {i}, outside 0..{v - 1}")

        parent = [-1] * v
        for child, par in self.bones:
            check_index(child, "bones")
            check_index(par, "bones")
            if parent[child] != -1:
                raise ValueError(f"{where}: joint {child} has two parents in bones; bones must form a tree")
            parent[child] = par
        roots = [j for j in range(v) if parent[j] == -1]
        if len(roots) != 1:
            raise ValueError(
                f"{where}: bones must connect all {v} joints to a single root, found roots {roots}"
            )
        order: list[int] = []
        children: dict[int, list[int]] = {j: [] for j in range(v)}
        for child, par in self.bones:
            children[par].append(child)
        stack = [roots[0]]
        while stack:
            j = stack.pop()
            order.append(j)
            stack.extend(reversed(children[j]))
        if len(order) != v:
            raise ValueError(f"{where}: bones contain a cycle; they must form a tree")
        set_(self, "_parent", tuple(parent))
        set_(self, "_order", tuple(order))

        for a, b in self.connections:
            check_index(a, "connections")
            check_index(b, "connections")
        if len(self.mirror) != v:
            raise ValueError(f"{where}: mirror has {len(self.mirror)} entries, expected {v}")
        for j, m in enumerate(self.mirror):
            check_index(m, "mirror")
            if self.mirror[m] != j:
                raise ValueError(f"{where}: mirror is not an involution at joint {j} ({j}->{m}->{self.mirror[m]})")
        mb = {(self.mirror[c], self.mirror[p]) for c, p in self.bones}
        if mb != set(self.bones):
            raise ValueError(f"{where}: mirror does not map the bone set onto itself")
        und = {frozenset(e) for e in self.connections}
        if {frozenset((self.mirror[a], self.mirror[b])) for a, b in self.connections} != und:
            raise ValueError(f"{where}: mirror does not map the connection set onto itself")
        if not self.centre:
            raise ValueError(f"{where}: centre is empty; name at least one joint")
        for c in self.centre:
            check_index(c, "centre")
        for pname, joints in self.parts.items():
            if not joints:
                raise ValueError(f"{where}: part {pname!r} is empty")
            for j in joints:
                check_index(j, f"part {pname!r}")
            if pname not in self.part_roots:
                raise ValueError(f"{where}: part {pname!r} has no entry in part_roots")
        for pname, r in self.part_roots.items():
            if pname not in self.parts:
                raise ValueError(f"{where}: part_roots names unknown part {pname!r}")
            check_index(r, f"part_roots[{pname!r}]")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle (and ``copy.deepcopy``) through the constructor: the read-only part mappings are
        ``MappingProxyType``, which pickle cannot store, so a layout (and every augmentation or dataset
        holding one) could not go to ``spawn`` DataLoader workers or into a checkpoint without this."""
        return (type(self), (self.name, self.joint_names, self.bones, self.mirror, dict(self.parts),
                             dict(self.part_roots), self.centre, self.dim, self.connections, self.notes,
                             self.y_down))

    # ------------------------------------------------------------------ properties
    @property
    def num_joints(self) -> int:
        """Number of joints ``V``."""
        return len(self.joint_names)

    @property
    def parent(self) -> tuple[int, ...]:
        """``parent[v]`` in the kinematic tree, ``-1`` for the root."""
        return self._parent

    @property
    def root(self) -> int:
        """The root joint of the kinematic tree."""
        return self._order[0]

    @property
    def topological_order(self) -> tuple[int, ...]:
        """Joints ordered so that every parent comes before its children."""
        return self._order

    def index(self, joint: str | int) -> int:
        """Index of a joint given by name or index (validated)."""
        if isinstance(joint, int | np.integer):
            j = int(joint)
            if not 0 <= j < self.num_joints:
                raise ValueError(f"joint={j} is outside 0..{self.num_joints - 1} for layout {self.name!r}")
            return j
        try:
            return self.joint_names.index(joint)
        except ValueError:
            raise ValueError(
                f"joint={joint!r} is not a joint of layout {self.name!r}; known: {', '.join(self.joint_names)}"
            ) from None

    def part(self, name: str) -> tuple[int, ...]:
        """Joint indices of a named part, with a clear error for unknown names."""
        try:
            return self.parts[name]
        except KeyError:
            raise ValueError(
                f"part={name!r} is not a part of layout {self.name!r}; known parts: {', '.join(sorted(self.parts))}"
            ) from None

    def joints_of(self, parts: str | Iterable[str | int]) -> tuple[int, ...]:
        """Sorted union of joint indices of parts or joints given by name/index."""
        items: Iterable[str | int] = [parts] if isinstance(parts, str) else parts
        out: set[int] = set()
        for item in items:
            if isinstance(item, str) and item in self.parts:
                out.update(self.parts[item])
            else:
                out.add(self.index(item))
        return tuple(sorted(out))

    def descendants(self, joint: int) -> tuple[int, ...]:
        """All joints below ``joint`` in the kinematic tree (excluding itself)."""
        below: set[int] = {joint}
        for j in self._order:
            if self._parent[j] in below:
                below.add(j)
        below.discard(joint)
        return tuple(sorted(below))

    def edges(self) -> tuple[tuple[int, int], ...]:
        """Undirected edge list: the format's connections plus kinematic bones, sorted, no duplicates."""
        und = {tuple(sorted(e)) for e in self.connections} | {tuple(sorted(e)) for e in self.bones}
        return tuple(sorted((int(a), int(b)) for a, b in und))

    def edge_index(self, self_loops: bool = False) -> torch.Tensor:
        """PyG ``edge_index`` of shape ``(2, E)``, both directions of every edge, no duplicates.

        Args:
            self_loops: Also add ``(v, v)`` for every joint.
        """
        import torch

        e = self.edges()
        src = [a for a, b in e] + [b for a, b in e]
        dst = [b for a, b in e] + [a for a, b in e]
        if self_loops:
            src += list(range(self.num_joints))
            dst += list(range(self.num_joints))
        ei = torch.tensor([src, dst], dtype=torch.long)
        order = torch.argsort(ei[0] * self.num_joints + ei[1])
        return ei[:, order]

    def adjacency(self) -> np.ndarray:
        """Symmetric 0/1 adjacency matrix ``(V, V)`` of :meth:`edges` (no self loops)."""
        a = np.zeros((self.num_joints, self.num_joints), dtype=np.float64)
        for i, j in self.edges():
            a[i, j] = a[j, i] = 1.0
        return a

    def to_dict(self) -> dict[str, Any]:
        """Plain-data description (JSON-serialisable) that :meth:`from_dict` restores."""
        return {
            "name": self.name,
            "joint_names": list(self.joint_names),
            "bones": [list(b) for b in self.bones],
            "mirror": list(self.mirror),
            "parts": {k: list(v) for k, v in self.parts.items()},
            "part_roots": dict(self.part_roots),
            "centre": list(self.centre),
            "dim": self.dim,
            "connections": [list(c) for c in self.connections],
            "notes": self.notes,
            "y_down": self.y_down,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SkeletonLayout:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=d["name"],
            joint_names=tuple(d["joint_names"]),
            bones=_pairs(d["bones"]),
            mirror=tuple(d["mirror"]),
            parts={k: tuple(v) for k, v in d["parts"].items()},
            part_roots=dict(d["part_roots"]),
            centre=tuple(d["centre"]),
            dim=int(d["dim"]),
            connections=_pairs(d.get("connections", ())),
            notes=d.get("notes", ""),
            y_down=d.get("y_down"),
        )

    def __repr__(self) -> str:
        return f"SkeletonLayout({self.name!r}, joints={self.num_joints}, dim={self.dim})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SkeletonLayout) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, self.joint_names, self.bones))


# ---------------------------------------------------------------------------- registry
_REGISTRY: dict[str, SkeletonLayout] = {}


def register(layout: SkeletonLayout, *, overwrite: bool = False) -> SkeletonLayout:
    """Add a layout to the registry so ``get(layout.name)`` finds it.

    Raises:
        ValueError: if the name is taken and ``overwrite`` is false.
    """
    if not isinstance(layout, SkeletonLayout):
        raise TypeError(f"layout must be a SkeletonLayout, got {type(layout).__name__}")
    if layout.name in _REGISTRY and not overwrite:
        raise ValueError(f"layout name {layout.name!r} is already registered; pass overwrite=True to replace it")
    _REGISTRY[layout.name] = layout
    return layout


def names() -> list[str]:
    """Names of all registered layouts, sorted."""
    return sorted(_REGISTRY)


def get(name: str | SkeletonLayout) -> SkeletonLayout:
    """Look up a layout by name (a :class:`SkeletonLayout` is returned unchanged).

    Aliases: ``kinect_v2`` and ``smg`` for ``ntu25``; ``kinect_v1``, ``nwucla`` and ``utd_mhad`` for
    ``kinect20``; ``body25`` for ``openpose25``; ``kinetics`` and ``coco18`` for ``openpose18``.
    """
    if isinstance(name, SkeletonLayout):
        return name
    if not isinstance(name, str):
        raise TypeError(f"layout must be a name or a SkeletonLayout, got {type(name).__name__}")
    key = _ALIASES.get(name.lower(), name.lower())
    try:
        return _REGISTRY[key]
    except KeyError:
        raise ValueError(
            f"layout={name!r} is unknown; known layouts: {', '.join(names())} "
            f"(register your own with skelaug.layouts.register)"
        ) from None


_ALIASES = {"kinect_v2": "ntu25", "kinect2": "ntu25", "smg": "ntu25", "body25": "openpose25",
            "body_25": "openpose25", "kinetics": "openpose18", "coco18": "openpose18",
            "kinect_v1": "kinect20", "kinect1": "kinect20", "nwucla": "kinect20", "utd_mhad": "kinect20"}


def _build(
    name: str,
    joints: Sequence[str],
    tree: Sequence[tuple[str, str]],
    parts: Mapping[str, tuple[Sequence[str], str]],
    centre: Sequence[str],
    dim: int,
    connections: Sequence[tuple[str, str]] | None = None,
    notes: str = "",
    y_down: bool | None = None,
) -> SkeletonLayout:
    """Build a layout from joint names; the mirror map pairs ``left_*`` with ``right_*`` names."""
    idx = {n: i for i, n in enumerate(joints)}

    def twin(n: str) -> int:
        for a, b in (("left", "right"), ("right", "left")):
            if a in n.split("_"):
                return idx["_".join(b if w == a else w for w in n.split("_"))]
        return idx[n]

    return SkeletonLayout(
        name=name,
        joint_names=tuple(joints),
        bones=tuple((idx[c], idx[p]) for c, p in tree),
        mirror=tuple(twin(n) for n in joints),
        parts={k: tuple(idx[j] for j in js) for k, (js, _) in parts.items()},
        part_roots={k: idx[r] for k, (_, r) in parts.items()},
        centre=tuple(idx[c] for c in centre),
        dim=dim,
        connections=tuple((idx[a], idx[b]) for a, b in connections) if connections else (),
        notes=notes,
        y_down=y_down,
    )


def _sides(*names: str) -> list[str]:
    return [f"{s}_{n}" for n in names for s in ("left", "right")]


def _composites(parts: dict[str, tuple[Sequence[str], str]], centre_joint: str) -> None:
    """Add ``arms``, ``hands``, ``legs`` and ``upper_body`` unions where their pieces exist."""
    def union(*keys: str) -> list[str]:
        out: list[str] = []
        for k in keys:
            out += [j for j in parts[k][0] if j not in out]
        return out

    if "left_arm" in parts:
        keys = ["left_arm", "right_arm"] + (["left_hand", "right_hand"] if "left_hand" in parts else [])
        parts["arms"] = (union(*keys), centre_joint)
    if "left_hand" in parts:
        parts["hands"] = (union("left_hand", "right_hand"), centre_joint)
    if "left_leg" in parts:
        parts["legs"] = (union("left_leg", "right_leg"), centre_joint)
    upper = [k for k in ("head", "face", "torso", "arms") if k in parts]
    parts["upper_body"] = (union(*upper), centre_joint)


# ---- NTU RGB+D / Kinect v2 (25 joints, 3D), also SMG ---------------------------------
_NTU_JOINTS = [
    "spine_base", "spine_mid", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
    "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
]
_NTU_TREE = [
    ("spine_mid", "spine_base"), ("spine_shoulder", "spine_mid"), ("neck", "spine_shoulder"),
    ("head", "neck"),
    *[(f"{s}_shoulder", "spine_shoulder") for s in ("left", "right")],
    *[(f"{s}_elbow", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_wrist", f"{s}_elbow") for s in ("left", "right")],
    *[(f"{s}_hand", f"{s}_wrist") for s in ("left", "right")],
    *[(f"{s}_hand_tip", f"{s}_hand") for s in ("left", "right")],
    *[(f"{s}_thumb", f"{s}_wrist") for s in ("left", "right")],
    *[(f"{s}_hip", "spine_base") for s in ("left", "right")],
    *[(f"{s}_knee", f"{s}_hip") for s in ("left", "right")],
    *[(f"{s}_ankle", f"{s}_knee") for s in ("left", "right")],
    *[(f"{s}_foot", f"{s}_ankle") for s in ("left", "right")],
]
_ntu_parts: dict[str, tuple[Sequence[str], str]] = {
    "head": (["neck", "head"], "spine_shoulder"),
    "face": (["head"], "neck"),
    "torso": (["spine_base", "spine_mid", "spine_shoulder", "left_hip", "right_hip"], "spine_mid"),
}
for _s in ("left", "right"):
    _ntu_parts[f"{_s}_arm"] = ([f"{_s}_shoulder", f"{_s}_elbow", f"{_s}_wrist"], f"{_s}_shoulder")
    _ntu_parts[f"{_s}_hand"] = ([f"{_s}_hand", f"{_s}_hand_tip", f"{_s}_thumb"], f"{_s}_wrist")
    _ntu_parts[f"{_s}_leg"] = ([f"{_s}_knee", f"{_s}_ankle", f"{_s}_foot"], f"{_s}_hip")
_composites(_ntu_parts, "spine_mid")
register(_build(
    "ntu25", _NTU_JOINTS, _NTU_TREE, _ntu_parts, ["spine_shoulder"], 3,
    notes="Kinect v2 joint order (NTU RGB+D, NTU-120, SMG, Kinect v2 CSV). Bones follow the Kinect v2 SDK "
          "(hand tip -> hand, thumb -> wrist); ST-GCN instead chains tip -> thumb -> hand.",
))

# ---- Kinect v1 (20 joints, 3D): NW-UCLA, UTD-MHAD, MSR Action3D ---------------------------
# Canonical order = the Kinect v1 SDK's NUI_SKELETON_POSITION_INDEX order, which NW-UCLA's JSON files
# use as they are; UTD-MHAD's .mat files list the same joints head first and their reader reorders.
_KINECT20_JOINTS = [
    "hip_center", "spine", "shoulder_center", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
]
_KINECT20_TREE = [
    ("spine", "hip_center"), ("shoulder_center", "spine"), ("head", "shoulder_center"),
    *[(f"{s}_shoulder", "shoulder_center") for s in ("left", "right")],
    *[(f"{s}_elbow", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_wrist", f"{s}_elbow") for s in ("left", "right")],
    *[(f"{s}_hand", f"{s}_wrist") for s in ("left", "right")],
    *[(f"{s}_hip", "hip_center") for s in ("left", "right")],
    *[(f"{s}_knee", f"{s}_hip") for s in ("left", "right")],
    *[(f"{s}_ankle", f"{s}_knee") for s in ("left", "right")],
    *[(f"{s}_foot", f"{s}_ankle") for s in ("left", "right")],
]
_k20_parts: dict[str, tuple[Sequence[str], str]] = {
    "head": (["head"], "shoulder_center"),
    "face": (["head"], "shoulder_center"),
    "torso": (["hip_center", "spine", "shoulder_center", "left_hip", "right_hip"], "spine"),
}
for _s in ("left", "right"):
    _k20_parts[f"{_s}_arm"] = ([f"{_s}_shoulder", f"{_s}_elbow", f"{_s}_wrist"], f"{_s}_shoulder")
    _k20_parts[f"{_s}_hand"] = ([f"{_s}_hand"], f"{_s}_wrist")
    _k20_parts[f"{_s}_leg"] = ([f"{_s}_knee", f"{_s}_ankle", f"{_s}_foot"], f"{_s}_hip")
_composites(_k20_parts, "spine")
register(_build(
    "kinect20", _KINECT20_JOINTS, _KINECT20_TREE, _k20_parts, ["shoulder_center"], 3,
    notes="Kinect v1 SDK joint order (NW-UCLA JSON as stored; UTD-MHAD .mat files are head first and are "
          "reordered by their reader). The 19 bones are the Kinect v1 skeleton (the same undirected edges as "
          "CTR-GCN's NW-UCLA graph, which roots them at shoulder_center); here the tree is rooted at "
          "hip_center, as ntu25 is at spine_base. 'left' is the subject's left.",
))

# ---- OpenPose BODY_25 (2D) -----------------------------------------------------------
_BODY25 = [
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
    "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe",
    "left_heel", "right_big_toe", "right_small_toe", "right_heel",
]
_B25_TREE = [
    ("nose", "neck"), ("mid_hip", "neck"),
    *[(f"{s}_shoulder", "neck") for s in ("left", "right")],
    *[(f"{s}_elbow", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_wrist", f"{s}_elbow") for s in ("left", "right")],
    *[(f"{s}_hip", "mid_hip") for s in ("left", "right")],
    *[(f"{s}_knee", f"{s}_hip") for s in ("left", "right")],
    *[(f"{s}_ankle", f"{s}_knee") for s in ("left", "right")],
    *[(f"{s}_eye", "nose") for s in ("left", "right")],
    *[(f"{s}_ear", f"{s}_eye") for s in ("left", "right")],
    *[(f"{s}_big_toe", f"{s}_ankle") for s in ("left", "right")],
    *[(f"{s}_small_toe", f"{s}_big_toe") for s in ("left", "right")],
    *[(f"{s}_heel", f"{s}_ankle") for s in ("left", "right")],
]


def _openpose_parts(with_mid_hip: bool, with_feet: bool) -> dict[str, tuple[Sequence[str], str]]:
    parts: dict[str, tuple[Sequence[str], str]] = {
        "head": (["nose", *_sides("eye", "ear")], "neck"),
        "face": (["nose", *_sides("eye", "ear")], "nose"),
        "torso": (["neck", *(["mid_hip"] if with_mid_hip else []), *_sides("shoulder", "hip")], "neck"),
    }
    for s in ("left", "right"):
        parts[f"{s}_arm"] = ([f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist"], f"{s}_shoulder")
        feet = [f"{s}_big_toe", f"{s}_small_toe", f"{s}_heel"] if with_feet else []
        parts[f"{s}_leg"] = ([f"{s}_knee", f"{s}_ankle", *feet], f"{s}_hip")
    _composites(parts, "neck")
    return parts


register(_build(
    "openpose25", _BODY25, _B25_TREE, _openpose_parts(True, True), ["neck"], 2,
    notes="OpenPose BODY_25; bones are POSE_BODY_25_PAIRS (a tree rooted at the neck). 'right' is the "
          "subject's right, which appears on the image's left for a person facing the camera.",
))

# ---- OpenPose COCO-18 / Kinetics-skeleton (2D) ----------------------------------------------
_COCO18 = [
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
]
_C18_TREE = [
    ("nose", "neck"),
    *[(f"{s}_shoulder", "neck") for s in ("left", "right")],
    *[(f"{s}_elbow", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_wrist", f"{s}_elbow") for s in ("left", "right")],
    *[(f"{s}_hip", "neck") for s in ("left", "right")],
    *[(f"{s}_knee", f"{s}_hip") for s in ("left", "right")],
    *[(f"{s}_ankle", f"{s}_knee") for s in ("left", "right")],
    *[(f"{s}_eye", "nose") for s in ("left", "right")],
    *[(f"{s}_ear", f"{s}_eye") for s in ("left", "right")],
]
register(_build(
    "openpose18", _COCO18, _C18_TREE, _openpose_parts(False, False), ["neck"], 2,
    notes="OpenPose COCO-18 as used by the Kinetics-skeleton release; bones are POSE_COCO_PAIRS (hips hang "
          "from the neck). ST-GCN's 'openpose' graph instead attaches each hip to its shoulder.",
))

# ---- COCO-17 (2D) --------------------------------------------------------------------
_COCO17 = ["nose", *_sides("eye", "ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle")]
# COCO's own 'skeleton' (1-based in the annotation file), 0-based here.
_COCO17_SKELETON = [
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"),
    ("right_knee", "right_hip"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"), ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
    ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_eye", "right_eye"), ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
    ("right_eye", "right_ear"), ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"),
]
_COCO17_TREE = [
    *[(f"{s}_eye", "nose") for s in ("left", "right")],
    *[(f"{s}_ear", f"{s}_eye") for s in ("left", "right")],
    *[(f"{s}_shoulder", "nose") for s in ("left", "right")],
    *[(f"{s}_elbow", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_wrist", f"{s}_elbow") for s in ("left", "right")],
    *[(f"{s}_hip", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_knee", f"{s}_hip") for s in ("left", "right")],
    *[(f"{s}_ankle", f"{s}_knee") for s in ("left", "right")],
]
_coco_parts: dict[str, tuple[Sequence[str], str]] = {
    "head": (["nose", *_sides("eye", "ear")], "nose"),
    "face": (["nose", *_sides("eye", "ear")], "nose"),
    "torso": (_sides("shoulder", "hip"), "nose"),
}
for _s in ("left", "right"):
    _coco_parts[f"{_s}_arm"] = ([f"{_s}_shoulder", f"{_s}_elbow", f"{_s}_wrist"], f"{_s}_shoulder")
    _coco_parts[f"{_s}_leg"] = ([f"{_s}_knee", f"{_s}_ankle"], f"{_s}_hip")
_composites(_coco_parts, "nose")
register(_build(
    "coco17", _COCO17, _COCO17_TREE, _coco_parts, ["left_shoulder", "right_shoulder"], 2,
    connections=_COCO17_SKELETON,
    notes="COCO person keypoints; connections are the annotation file's 'skeleton' (19 edges, with cycles). "
          "COCO has no neck, so the kinematic tree hangs the shoulders from the nose (as pyskl does) and the "
          "centre is the shoulder midpoint.",
))

# ---- PoseTrack 2018 (COCO-style files with head_bottom / head_top for the eyes, 2D) -------
# Keypoint order of the PoseTrack18 annotation files' categories[0].keypoints (as mmpose's
# posetrack18 dataset info lists it): the COCO-17 order with the eyes replaced by head_bottom, head_top.
_POSETRACK18 = ["nose", "head_bottom", "head_top", *_sides("ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle")]
# Drawn edges: mmpose's posetrack18 skeleton_info (the files' own 'skeleton' is COCO's list copied unchanged,
# which joins head_top to an ear). The ears are never annotated in PoseTrack and are not drawn.
_POSETRACK18_LINKS = [
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"),
    ("right_knee", "right_hip"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"), ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
    ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("nose", "head_bottom"), ("nose", "head_top"), ("head_bottom", "left_shoulder"),
    ("head_bottom", "right_shoulder"),
]
_POSETRACK18_TREE = [
    ("nose", "head_bottom"), ("head_top", "nose"),
    *[(f"{s}_ear", "head_bottom") for s in ("left", "right")],
    *[(f"{s}_shoulder", "head_bottom") for s in ("left", "right")],
    *[(f"{s}_elbow", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_wrist", f"{s}_elbow") for s in ("left", "right")],
    *[(f"{s}_hip", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_knee", f"{s}_hip") for s in ("left", "right")],
    *[(f"{s}_ankle", f"{s}_knee") for s in ("left", "right")],
]
_posetrack_parts: dict[str, tuple[Sequence[str], str]] = {
    "head": (["nose", "head_bottom", "head_top", *_sides("ear")], "head_bottom"),
    "face": (["nose", *_sides("ear")], "nose"),
    "torso": (["head_bottom", *_sides("shoulder", "hip")], "head_bottom"),
}
for _s in ("left", "right"):
    _posetrack_parts[f"{_s}_arm"] = ([f"{_s}_shoulder", f"{_s}_elbow", f"{_s}_wrist"], f"{_s}_shoulder")
    _posetrack_parts[f"{_s}_leg"] = ([f"{_s}_knee", f"{_s}_ankle"], f"{_s}_hip")
_composites(_posetrack_parts, "head_bottom")
register(_build(
    "posetrack18", _POSETRACK18, _POSETRACK18_TREE, _posetrack_parts, ["left_shoulder", "right_shoulder"], 2,
    connections=_POSETRACK18_LINKS,
    notes="PoseTrack 2018 keypoints (COCO-style JSON whose categories[].keypoints list head_bottom, head_top "
          "where COCO-17 has the eyes). head_bottom (chin / neck) and head_top lie on the midline, so mirroring "
          "keeps them. Connections are mmpose's posetrack18 skeleton; the ears (never annotated in PoseTrack) "
          "are not drawn and hang from head_bottom in the kinematic tree, which is rooted at head_bottom.",
))

# ---- MediaPipe Pose (33 landmarks; x, y normalised, z relative depth) -------------------
_MP33 = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    *_sides("shoulder", "elbow", "wrist", "pinky", "index", "thumb", "hip", "knee", "ankle", "heel",
            "foot_index"),
]
_MP_CONNECTIONS = [
    ("nose", "left_eye_inner"), ("left_eye_inner", "left_eye"), ("left_eye", "left_eye_outer"),
    ("left_eye_outer", "left_ear"), ("nose", "right_eye_inner"), ("right_eye_inner", "right_eye"),
    ("right_eye", "right_eye_outer"), ("right_eye_outer", "right_ear"), ("mouth_left", "mouth_right"),
    ("left_shoulder", "right_shoulder"),
    *[p for s in ("left", "right") for p in [
        (f"{s}_shoulder", f"{s}_elbow"), (f"{s}_elbow", f"{s}_wrist"), (f"{s}_wrist", f"{s}_pinky"),
        (f"{s}_wrist", f"{s}_index"), (f"{s}_wrist", f"{s}_thumb"), (f"{s}_pinky", f"{s}_index"),
        (f"{s}_shoulder", f"{s}_hip"), (f"{s}_hip", f"{s}_knee"), (f"{s}_knee", f"{s}_ankle"),
        (f"{s}_ankle", f"{s}_heel"), (f"{s}_heel", f"{s}_foot_index"), (f"{s}_ankle", f"{s}_foot_index"),
    ]],
    ("left_hip", "right_hip"),
]
_MP_TREE = [
    *[(f"{s}_eye_inner", "nose") for s in ("left", "right")],
    *[(f"{s}_eye", f"{s}_eye_inner") for s in ("left", "right")],
    *[(f"{s}_eye_outer", f"{s}_eye") for s in ("left", "right")],
    *[(f"{s}_ear", f"{s}_eye_outer") for s in ("left", "right")],
    *[(f"mouth_{s}", "nose") for s in ("left", "right")],
    *[(f"{s}_shoulder", "nose") for s in ("left", "right")],
    *[(f"{s}_elbow", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_wrist", f"{s}_elbow") for s in ("left", "right")],
    *[(f"{s}_{f}", f"{s}_wrist") for s in ("left", "right") for f in ("pinky", "index", "thumb")],
    *[(f"{s}_hip", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_knee", f"{s}_hip") for s in ("left", "right")],
    *[(f"{s}_ankle", f"{s}_knee") for s in ("left", "right")],
    *[(f"{s}_heel", f"{s}_ankle") for s in ("left", "right")],
    *[(f"{s}_foot_index", f"{s}_ankle") for s in ("left", "right")],
]
_mp_face = ["nose", *_sides("eye_inner", "eye", "eye_outer", "ear"), "mouth_left", "mouth_right"]
_mp_parts: dict[str, tuple[Sequence[str], str]] = {
    "head": (_mp_face, "nose"),
    "face": (_mp_face, "nose"),
    "torso": (_sides("shoulder", "hip"), "nose"),
}
for _s in ("left", "right"):
    _mp_parts[f"{_s}_arm"] = ([f"{_s}_shoulder", f"{_s}_elbow", f"{_s}_wrist"], f"{_s}_shoulder")
    _mp_parts[f"{_s}_hand"] = ([f"{_s}_pinky", f"{_s}_index", f"{_s}_thumb"], f"{_s}_wrist")
    _mp_parts[f"{_s}_leg"] = ([f"{_s}_knee", f"{_s}_ankle", f"{_s}_heel", f"{_s}_foot_index"], f"{_s}_hip")
_composites(_mp_parts, "nose")
# MediaPipe's 'mouth_left' is the subject's left mouth corner: the generic left/right twin rule applies.
_mp = _build(
    "mediapipe33", _MP33, _MP_TREE, _mp_parts, ["left_shoulder", "right_shoulder"], 3,
    connections=_MP_CONNECTIONS,
    notes="MediaPipe Pose landmarks; connections are POSE_CONNECTIONS (the face, the mouth and the body are "
          "separate components there). The kinematic tree joins them at the nose. dim=3: x, y normalised to "
          "the image and z a relative depth; use only the first two channels for image-plane work.",
    y_down=True,
)
register(_mp)
register(_build(
    "mediapipe33_2d", _MP33, _MP_TREE, _mp_parts, ["left_shoulder", "right_shoulder"], 2,
    connections=_MP_CONNECTIONS,
    notes="MediaPipe Pose landmarks in the image plane only (x, y normalised): what a MediaPipe CSV without a z "
          "column reads as. Joints, bones, connections, mirror and parts are those of mediapipe33; dim=2 because "
          "a zero z would claim a depth the file does not have (3D rotations would mix it into x and y).",
))

# ---- MPI-15 (OpenPose MPI_15, 2D) ------------------------------------------------------
_MPI15 = [
    "head", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "chest",
]
_MPI_TREE = [
    ("head", "neck"), ("chest", "neck"),
    *[(f"{s}_shoulder", "neck") for s in ("left", "right")],
    *[(f"{s}_elbow", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_wrist", f"{s}_elbow") for s in ("left", "right")],
    *[(f"{s}_hip", "chest") for s in ("left", "right")],
    *[(f"{s}_knee", f"{s}_hip") for s in ("left", "right")],
    *[(f"{s}_ankle", f"{s}_knee") for s in ("left", "right")],
]
_mpi_parts: dict[str, tuple[Sequence[str], str]] = {
    "head": (["head"], "neck"),
    "face": (["head"], "neck"),
    "torso": (["neck", "chest", *_sides("shoulder", "hip")], "neck"),
}
for _s in ("left", "right"):
    _mpi_parts[f"{_s}_arm"] = ([f"{_s}_shoulder", f"{_s}_elbow", f"{_s}_wrist"], f"{_s}_shoulder")
    _mpi_parts[f"{_s}_leg"] = ([f"{_s}_knee", f"{_s}_ankle"], f"{_s}_hip")
_composites(_mpi_parts, "neck")
register(_build(
    "mpi15", _MPI15, _MPI_TREE, _mpi_parts, ["neck"], 2,
    notes="OpenPose MPI_15 (MPII-style); bones are POSE_MPI_PAIRS (hips hang from the chest).",
))

# ---- iMiGUE challenge release: 22 upper-body joints (2D) -----------------------------------
_FINGERS = ("thumb", "index", "middle", "ring", "pinky")
_IMIGUE22 = [
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_eye", "left_eye", "right_ear", "left_ear",
    *[f"right_{f}_tip" for f in _FINGERS], *[f"left_{f}_tip" for f in _FINGERS],
]
_IMIGUE_TREE = [
    ("nose", "neck"),
    *[(f"{s}_shoulder", "neck") for s in ("left", "right")],
    *[(f"{s}_elbow", f"{s}_shoulder") for s in ("left", "right")],
    *[(f"{s}_wrist", f"{s}_elbow") for s in ("left", "right")],
    *[(f"{s}_eye", "nose") for s in ("left", "right")],
    *[(f"{s}_ear", f"{s}_eye") for s in ("left", "right")],
    *[(f"{s}_{f}_tip", f"{s}_wrist") for s in ("left", "right") for f in _FINGERS],
]
_imigue_parts: dict[str, tuple[Sequence[str], str]] = {
    "head": (["nose", *_sides("eye", "ear")], "neck"),
    "face": (["nose", *_sides("eye", "ear")], "nose"),
    "torso": (["neck", *_sides("shoulder")], "neck"),
}
for _s in ("left", "right"):
    _imigue_parts[f"{_s}_arm"] = ([f"{_s}_shoulder", f"{_s}_elbow", f"{_s}_wrist"], f"{_s}_shoulder")
    _imigue_parts[f"{_s}_hand"] = ([f"{_s}_{f}_tip" for f in _FINGERS], f"{_s}_wrist")
_composites(_imigue_parts, "neck")
register(_build(
    "imigue22", _IMIGUE22, _IMIGUE_TREE, _imigue_parts, ["neck"], 2,
    notes="iMiGUE challenge release order: BODY_25 joints 0-7 (nose, neck, the image-left arm = the subject's "
          "right, the image-right arm = the subject's left), the eyes and ears (BODY_25 15-18), then the five "
          "fingertips (OpenPose hand keypoints 4, 8, 12, 16, 20) of the hand at joint 4, then of the hand at "
          "joint 7. Fingertips hang from their wrist in the kinematic tree.",
))
