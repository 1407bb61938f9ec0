"""Procedurally generated, labelled micro-gesture (MG) clips: the built-in default dataset.

Real MG data (iMiGUE, SMG) cannot ship with the library, so examples, tests and the reference models
run on this generator. Each clip shows one **seated upper body** (a press-conference interview: hands
resting on a table) performing one of 16 classes modelled on iMiGUE's: 15 micro-gestures and the
non-MG *illustrative gesture* class (iMiGUE class 32, written 99 in its files).

How a clip is made
------------------
1. **Subject** (shared by all clips of one subject id): body size and proportions (torso, shoulder
   width, arm, hand and head lengths, each a few per cent from a common scale), habitual posture
   (forward/side lean), handedness, camera (view yaw, elevation, distance, focal length, image
   position) and pose-estimator quality (jitter, dropout rate).
2. **Clip**: a valid length ``L`` drawn from a log-normal with median 40 frames at 25 fps (iMiGUE's MG
   clips: median 40, 75th percentile 73), clipped to ``min_frames..num_frames``; a resting pose of
   the hands (apart on the table, close together, or one hand on the lap); idle motion (body sway,
   breathing, head turns, hand drift: smooth random sums of sinusoids).
3. **Gesture**: a smooth envelope ``e(t)`` (onset, rise, hold, optional release; 30% of clips are
   cut before the release) blends the resting pose into the class's target: fingertip contact
   points on the face/neck/body computed from the moving head, hand direction and finger curl,
   elbow direction, head/torso angles, shoulder raise. Repetitive classes add an oscillation
   ``a sin(2 pi f t + phi)`` with class-specific amplitude ``a`` (about 0.5-3 cm) and frequency
   ``f`` (1-6 Hz). The acting hand is the left or right one (by the subject's handedness).
4. **Kinematics**: torso and head are rigid segments rotated about the pelvis and the neck; each arm
   is solved by analytic two-link inverse kinematics (shoulder-wrist distance clamped to the
   reachable range, elbow direction from a pole vector); the five fingertips, the NTU hand centre,
   hand tip and thumb come from a hand frame (pointing direction, palm normal, curl).
5. **Observation**:

   * ``imigue22`` (2D): perspective projection into a 1280 x 720 image like iMiGUE's,
     ``u = c_u + f X / Z``, ``v = c_v - f Y / Z`` (pixels, image ``y`` down). Channels
     ``(x, y, score)``; per-joint scores (fingertips and far-side ears lower), Gaussian jitter whose
     standard deviation grows as the score falls, dropped joints (more for fingertips, and more when
     the hand is near the face), short runs of a missing hand, and joints that leave the image are
     missing. Missing joints are ``(0, 0, 0)``.
   * ``ntu25`` (3D): Kinect v2 camera space in metres (``x`` toward the sensor's left, i.e. the
     subject's right for a subject facing it, ``y`` up, ``z`` depth about 2.3-3.7 m), with the legs of
     a seated person. Channels ``(x, y, z)`` (no score); jitter of about 5 mm (12 mm at the hands) and
     rare dropped joints (all-zero).

Why it is not trivial
---------------------
Several classes share a body region and differ only by a few centimetres of contact position
(jaw / face / eyes; neck side / suprasternal notch) or only in their dynamics (a static touch versus
a 3-5 Hz scratch, a single slow shoulder rise versus fast shaking). Subject, camera and timing vary,
the acting hand is either one, and pose noise is of the size of the subtle movements. A linear
classifier on raw flattened coordinates stays far from perfect, while normalised temporal features
(motion energy, fingertip-to-face distances) do much better; ``tests/data/test_synthetic.py``
measures both.

Determinism: sample ``i`` depends only on ``(seed, i)`` (and the subject's parameters on
``(seed, subject)``), so ``generate(10, seed=s)`` equals the first 10 samples of
``generate(100, seed=s)`` with the same options. No global random state is used.

Example:
    >>> from skelaug.data.synthetic import generate
    >>> ds = generate(32, "imigue22", num_frames=48, seed=0)
    >>> ds.data.shape, ds.data.dtype.name, ds.layout
    ((32, 1, 48, 22, 3), 'float32', 'imigue22')
    >>> len(ds.class_names), ds.class_names[0]
    (16, 'turtle_neck')
    >>> bool((ds.lengths >= 16).all() and (ds.lengths <= 48).all())
    True
    >>> bool((ds.data[0, :, int(ds.lengths[0]):] == 0).all())   # zero padding after the valid length
    True
    >>> generate(4, "ntu25", seed=0).data.shape                # 3D, metres
    (4, 1, 64, 25, 3)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from skelaug.data.datasets import ClipDataset

__all__ = [
    "CLASSES",
    "MGClass",
    "SyntheticMG",
    "SyntheticMGDataset",
    "class_names",
    "generate",
]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class MGClass:
    """One synthetic class: its name, the iMiGUE class it models (32 = illustrative, non-MG) and a summary."""

    name: str
    imigue_class: int
    region: str
    description: str


#: The synthetic micro-gesture classes, in label order.
CLASSES: tuple[MGClass, ...] = (
    MGClass("turtle_neck", 1, "head", "head sinks and retracts between raised shoulders, chin tucked"),
    MGClass("deep_breath", 2, "head", "one slow rise and fall of the shoulders, chest out, head slightly up"),
    MGClass("scratching_head", 4, "head-hand", "fingertips on the side/top of the head, 2.5-4.5 Hz scratch"),
    MGClass("rubbing_eyes", 7, "head-hand", "fingertips on one eye, 2-4 Hz side-to-side rub, head bowed"),
    MGClass("touching_face", 8, "head-hand", "brief touch of nose, cheek or mouth, sometimes tapping"),
    MGClass("touching_ear", 9, "head-hand", "hand on the ear of the same side, sometimes rubbing the lobe"),
    MGClass("touching_jaw", 11, "head-hand", "fingers under chin or along the jaw, held or slowly stroking"),
    MGClass("scratching_neck", 12, "body-hand", "fingertips on the side/back of the neck, 3-5 Hz scratch"),
    MGClass("touching_notch", 15, "body-hand", "hand covers the suprasternal notch (base of the neck), held"),
    MGClass("folding_arms", 17, "body-hand", "forearms cross in front of the chest, hands at the arms"),
    MGClass("moving_torso", 20, "body", "upper body leans or rocks (forward/back, sideways or twisting)"),
    MGClass("rubbing_hands", 23, "hand", "hands meet in front and slide against each other, 1.5-3 Hz"),
    MGClass("crossing_fingers", 24, "hand", "fingers interlaced in front, thumbs sometimes twiddling"),
    MGClass("head_up", 28, "head", "head tilts back and returns"),
    MGClass("shaking_shoulders", 31, "body", "shoulders bounce together at 3-6 Hz by 0.8-2 cm (laugh-like)"),
    MGClass("illustrative", 32, "non-MG", "open-hand beat and metaphoric gestures in front of the body"),
)

# Frequency rank for the long-tailed option: most to least frequent, following iMiGUE's counts
# (99: 5715, 31: 2880, 20: 1217, 8: 1134, 23: 1035, 24: 888, 2: 515, 11: 454, 17: 406, 4: 271,
# 12: 198, 9: 132, 28: 99, 7: 90, 15: 44, 1: 15).
_TAIL_ORDER = (
    "illustrative",
    "shaking_shoulders",
    "moving_torso",
    "touching_face",
    "rubbing_hands",
    "crossing_fingers",
    "deep_breath",
    "touching_jaw",
    "folding_arms",
    "scratching_head",
    "scratching_neck",
    "touching_ear",
    "head_up",
    "rubbing_eyes",
    "touching_notch",
    "turtle_neck",
)


def class_names() -> list[str]:
    """Names of the synthetic classes, in label order."""
    return [c.name for c in CLASSES]


# ------------------------------------------------------------------------------------ geometry
def _rx(a: F64) -> F64:
    """Rotation about x by ``a`` (L,): positive tilts +y toward +z (forward lean / nod down)."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _ry(a: F64) -> F64:
    """Rotation about y: positive turns +z toward +x (face turns to the subject's left)."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rz(a: F64) -> F64:
    """Rotation about z: positive tilts +y toward -x (lean to the subject's right)."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _apply(r: F64, v: Any) -> F64:
    """Rotate vectors: ``r`` (L, 3, 3), ``v`` (3,) or (L, 3) -> (L, 3)."""
    v = np.asarray(v, dtype=np.float64)
    out: F64 = np.einsum("lij,j->li", r, v) if v.ndim == 1 else np.einsum("lij,lj->li", r, v)
    return out


def _unit(v: F64) -> F64:
    out: F64 = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
    return out


def _smoothstep(x: F64) -> F64:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _two_link(s: F64, w: F64, a: float, b: float, pole: F64) -> tuple[F64, F64]:
    """Analytic two-link IK: elbow for shoulder ``s``, wrist target ``w`` (L, 3), segment lengths ``a, b``.

    With ``d = |w - s|`` clamped to ``[|a - b|, a + b]`` and ``n = (w - s) / d``, the elbow is
    ``s + a (cos A n + sin A u)``, ``cos A = (a^2 + d^2 - b^2) / (2 a d)``, ``u`` the pole direction made
    orthogonal to ``n``. Returns the elbow and the (possibly pulled-in) wrist.
    """
    dv = w - s
    d = np.linalg.norm(dv, axis=-1, keepdims=True)
    n = dv / np.maximum(d, 1e-9)
    d = np.clip(d, abs(a - b) + 1e-3, a + b - 1e-3)
    w = s + n * d
    cos_a = (a * a + d * d - b * b) / (2.0 * a * d)
    sin_a = np.sqrt(np.clip(1.0 - cos_a * cos_a, 0.0, 1.0))
    u = pole - np.sum(pole * n, axis=-1, keepdims=True) * n
    u = _unit(u)
    return s + a * (cos_a * n + sin_a * u), w


# fingertip offsets in the hand frame (forward along h, lateral toward the thumb, along the palm
# normal): (straight forward, lateral, curled forward, curled toward palm), metres for a 19 cm hand
_FINGERS = np.array(
    [
        [0.105, 0.065, 0.080, 0.030],  # thumb
        [0.180, 0.025, 0.090, 0.045],  # index
        [0.190, 0.000, 0.095, 0.050],  # middle
        [0.180, -0.020, 0.090, 0.045],  # ring
        [0.155, -0.040, 0.080, 0.040],  # pinky
    ]
)


def _hand_points(w: F64, h: F64, n_hint: F64, curl: F64, side: int, size: float) -> F64:
    """Fingertips (L, 5, 3) (thumb..pinky) and NTU hand centre (L, 3) as row 5: (L, 6, 3)."""
    h = _unit(h)
    n = _unit(n_hint - np.sum(n_hint * h, -1, keepdims=True) * h)
    lat = -side * np.cross(h, n)
    c = curl[:, None]
    fwd = _FINGERS[None, :, 0] * (1.0 - c) + _FINGERS[None, :, 2] * c  # (L, 5)
    nrm = _FINGERS[None, :, 3] * c
    tips = w[:, None] + size * (
        fwd[..., None] * h[:, None] + _FINGERS[None, :, 1, None] * lat[:, None] + nrm[..., None] * n[:, None]
    )
    centre = w + size * 0.08 * h
    return np.concatenate([tips, centre[:, None]], axis=1)


def _reach(curl: F64, size: float) -> F64:
    """Distance along the hand direction from the wrist to the middle fingertip."""
    out: F64 = size * (_FINGERS[2, 0] * (1.0 - curl) + _FINGERS[2, 2] * curl)
    return out


# ------------------------------------------------------------------------------------ subject
@dataclass(frozen=True)
class _Subject:
    torso: float
    shoulder: float
    upper_arm: float
    forearm: float
    hand: float
    head: float
    lean: float
    roll: float
    head_tilt: float
    right_handed: float
    cam_yaw: float
    cam_elev: float
    cam_dist: float
    focal: float
    off_u: float
    off_v: float
    k_height: float
    k_x: float
    jitter: float
    drop: float


def _subject(seed: int, sid: int, layout: str) -> _Subject:
    g = np.random.default_rng([seed, 0, sid])
    scale = float(np.clip(g.normal(1.0, 0.07), 0.82, 1.18))

    def part() -> float:
        return scale * float(np.clip(g.normal(1.0, 0.04), 0.9, 1.1))

    view = 45.0 if layout == "ntu25" else 35.0
    return _Subject(
        torso=0.52 * part(),
        shoulder=0.165 * part(),
        upper_arm=0.27 * part(),
        forearm=0.25 * part(),
        hand=part(),
        head=part(),
        lean=np.deg2rad(g.normal(8.0, 6.0)),
        roll=np.deg2rad(g.normal(0.0, 2.5)),
        head_tilt=np.deg2rad(g.normal(8.0, 6.0)),
        right_handed=float(g.uniform(0.55, 0.95)),
        cam_yaw=np.deg2rad(g.uniform(-view, view)),
        cam_elev=np.deg2rad(g.uniform(-3.0, 15.0)),
        cam_dist=float(g.uniform(0.95, 1.7)) if layout != "ntu25" else float(g.uniform(2.4, 3.5)),
        focal=float(g.uniform(950.0, 1300.0)),
        off_u=float(g.uniform(-120.0, 120.0)),
        off_v=float(g.uniform(-50.0, 40.0)),
        k_height=float(g.uniform(-0.25, 0.25)),
        k_x=float(g.uniform(-0.4, 0.4)),
        jitter=float(g.uniform(0.6, 1.6)),
        drop=float(g.uniform(0.3, 1.5)),
    )


# ------------------------------------------------------------------------------------ clip state
class _Clip:
    """Everything animated for one clip; gesture functions edit these arrays."""

    def __init__(self, g: np.random.Generator, subj: _Subject, length: int, fps: float) -> None:
        self.g, self.s, self.L, self.fps = g, subj, length, fps
        self.t = np.arange(length, dtype=np.float64) / fps
        z = np.zeros(length)
        self.torso_pitch = subj.lean + self._smooth(np.deg2rad(1.5))
        self.torso_roll = subj.roll + self._smooth(np.deg2rad(1.0))
        self.torso_yaw = self._smooth(np.deg2rad(2.0))
        self.head_pitch = subj.head_tilt + self._smooth(np.deg2rad(4.0))
        self.head_yaw = self._smooth(np.deg2rad(7.0)) + self._glance()
        self.head_roll = self._smooth(np.deg2rad(2.0))
        self.retract = np.zeros((length, 3))
        breath = 0.003 * np.sin(2 * np.pi * g.uniform(0.2, 0.35) * self.t + g.uniform(0, 2 * np.pi))
        self.shoulder_up = {+1: breath + z, -1: breath + z}
        self.side = -1 if g.random() < subj.right_handed else +1  # acting hand: +1 left, -1 right
        # hand targets: (weight (L,), contact point (L,3), direction (L,3), palm normal (L,3), curl (L,),
        # elbow pole (3,)), filled by the gesture's hand phase
        self.hand_target: dict[int, tuple[F64, F64, F64, F64, F64, F64]] = {}
        self.thumb_wiggle: dict[int, F64] = {}
        self._rest()

    # -- random smooth signals
    def _smooth(self, amp: float, fmin: float = 0.1, fmax: float = 0.8, k: int = 3) -> F64:
        g = self.g
        f = g.uniform(fmin, fmax, k)
        ph = g.uniform(0, 2 * np.pi, k)
        a = g.normal(0.0, 1.0, k)
        wave = np.sin(2 * np.pi * f[None] * self.t[:, None] + ph[None])
        out: F64 = (a[None] * wave).sum(1) * amp / np.sqrt(k)
        return out

    def _glance(self) -> F64:
        """An occasional quick head turn (reporters on either side), in 35% of clips."""
        if self.g.random() > 0.35:
            return np.zeros(self.L)
        c = self.g.uniform(0, self.L)
        w = self.g.uniform(3, 10)
        amp = np.deg2rad(self.g.uniform(8, 22)) * self.g.choice([-1.0, 1.0])
        k = self.t * self.fps
        out: F64 = amp * _smoothstep((k - c + w) / w) * _smoothstep((c + 2 * w - k) / w)
        return out

    def envelope(
        self, hold_min: float = 0.3, cut_prob: float = 0.3, rise: tuple[float, float] = (0.15, 0.35)
    ) -> F64:
        """Gesture weight (L,): rises from rest, holds, maybe returns before the clip ends."""
        g, n = self.g, self.L
        k = np.arange(n, dtype=np.float64)
        a = g.uniform(0.0, 0.15) * n
        r = max(g.uniform(*rise) * n, 4.0)
        e = _smoothstep((k - a) / r)
        if g.random() > cut_prob:
            f = max(g.uniform(0.15, 0.3) * n, 4.0)
            b = max(g.uniform(0.85, 1.0) * n, a + r + hold_min * n + f)
            e = e * (1.0 - _smoothstep((k - (b - f)) / f))
        return e

    def osc(self, fmin: float, fmax: float, amp: float) -> F64:
        f = self.g.uniform(fmin, fmax)
        out: F64 = amp * np.sin(2 * np.pi * f * self.t + self.g.uniform(0, 2 * np.pi))
        return out

    # -- resting hands
    def _rest(self) -> None:
        g, s = self.g, self.s
        style = g.choice(3, p=[0.5, 0.4, 0.1])
        table_y = g.uniform(0.22, 0.36) * s.torso / 0.52
        z0 = g.uniform(0.2, 0.36)
        self.rest: dict[int, tuple[F64, F64, F64, F64]] = {}
        lap_side = int(g.choice([-1, 1]))
        for side in (+1, -1):
            if style == 0:
                w = np.array([side * g.uniform(0.06, 0.2), table_y, z0 + g.uniform(-0.05, 0.05)])
                h = np.array([-side * g.uniform(0.2, 0.8), 0.0, 1.0])
            elif style == 1:
                w = np.array([side * g.uniform(0.05, 0.11), table_y, z0 + g.uniform(-0.03, 0.03)])
                h = np.array([-side * 1.0, g.uniform(-0.1, 0.2), g.uniform(0.2, 0.9)])
            elif side == lap_side:
                w = np.array([side * g.uniform(0.1, 0.18), g.uniform(-0.02, 0.08), g.uniform(0.14, 0.24)])
                h = np.array([-side * 0.3, -0.3, 1.0])
            else:
                w = np.array([side * g.uniform(0.06, 0.2), table_y, z0])
                h = np.array([-side * g.uniform(0.2, 0.8), 0.0, 1.0])
            drift = np.stack([self._smooth(0.008) for _ in range(3)], -1)
            n = np.array([g.normal(0, 0.2), -1.0, g.normal(0, 0.2)])
            curl = np.clip(g.uniform(0.2, 0.6) + self._smooth(0.05), 0, 1)
            self.rest[side] = (
                w[None] + drift,
                np.broadcast_to(_unit(h), (self.L, 3)).copy(),
                np.broadcast_to(n, (self.L, 3)).copy(),
                curl,
            )

    def pole(self, side: int) -> F64:
        return np.array([side * 0.5, -1.0, -0.3])


# ------------------------------------------------------------------------------------ skeleton
_HEAD_PTS = {
    "head": (0.0, 0.10, 0.0),
    "nose": (0.0, 0.07, 0.105),
    "eye": (0.036, 0.095, 0.085),
    "ear": (0.08, 0.085, 0.0),
    "chin": (0.0, -0.015, 0.085),
    "jaw": (0.05, 0.005, 0.055),
    "cheek": (0.045, 0.055, 0.08),
    "mouth": (0.0, 0.02, 0.1),
    "forehead": (0.0, 0.16, 0.09),
    "crown": (0.04, 0.20, -0.01),
    "temple": (0.075, 0.14, 0.03),
}


@dataclass
class _Body:
    """Body-frame joints (metres; x = subject's left, y = up, z = forward) for one clip."""

    r_torso: F64
    r_head: F64
    neck_top: F64
    pts: dict[str, F64]
    head_size: float

    def face(self, name: str, side: int = 1, extra: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> F64:
        x, y, z = _HEAD_PTS[name]
        off = np.array([side * x + extra[0], y + extra[1], z + extra[2]]) * self.head_size
        return self.neck_top + _apply(self.r_head, off)

    def torso_pt(self, off: tuple[float, float, float]) -> F64:
        return self.pts["spine_shoulder"] + _apply(self.r_torso, np.asarray(off))


def _body(c: _Clip) -> _Body:
    s = c.s
    r_t = _ry(c.torso_yaw) @ _rx(c.torso_pitch) @ _rz(c.torso_roll)
    pts: dict[str, F64] = {"pelvis": np.zeros((c.L, 3))}
    pts["spine_mid"] = _apply(r_t, [0.0, 0.5 * s.torso, 0.0])
    pts["spine_shoulder"] = _apply(r_t, [0.0, s.torso, 0.0])
    for side, tag in ((1, "l"), (-1, "r")):
        off = np.zeros((c.L, 3))
        off[:, 0] = side * s.shoulder
        off[:, 1] = -0.01 + c.shoulder_up[side]
        pts[f"{tag}_shoulder"] = pts["spine_shoulder"] + _apply(r_t, off)
    neck_off = np.array([0.0, 0.05 * s.head, 0.0])[None] + c.retract
    neck_top = pts["spine_shoulder"] + _apply(r_t, neck_off)
    r_h = r_t @ _ry(c.head_yaw) @ _rx(c.head_pitch) @ _rz(c.head_roll)
    pts["neck_top"] = neck_top
    b = _Body(r_t, r_h, neck_top, pts, s.head)
    pts["head"] = b.face("head")
    pts["nose"] = b.face("nose")
    for side, tag in ((1, "l"), (-1, "r")):
        pts[f"{tag}_eye"] = b.face("eye", side)
        pts[f"{tag}_ear"] = b.face("ear", side)
    return b


def _arms(c: _Clip, b: _Body) -> None:
    s = c.s
    for side, tag in ((1, "l"), (-1, "r")):
        w, h, n, curl = c.rest[side]
        pole = np.broadcast_to(c.pole(side), (c.L, 3))
        if side in c.hand_target:
            e, cp, ch, cn, ccurl, cpole = c.hand_target[side]
            ew = e[:, None]
            cw = cp - _unit(ch) * _reach(ccurl, s.hand)[:, None]
            w = (1 - ew) * w + ew * cw
            h = _unit((1 - ew) * h + ew * _unit(ch))
            n = _unit((1 - ew) * n + ew * _unit(cn))
            curl = (1 - e) * curl + e * ccurl
            pole = _unit((1 - ew) * pole + ew * cpole[None])
        elbow, w = _two_link(b.pts[f"{tag}_shoulder"], w, s.upper_arm, s.forearm, pole)
        hp = _hand_points(w, h, n, np.clip(curl, 0, 1), side, s.hand)
        if side in c.thumb_wiggle:
            hp[:, 0] += c.thumb_wiggle[side]
        b.pts[f"{tag}_elbow"] = elbow
        b.pts[f"{tag}_wrist"] = w
        for k, f in enumerate(("thumb", "index", "middle", "ring", "pinky")):
            b.pts[f"{tag}_{f}"] = hp[:, k]
        b.pts[f"{tag}_hand"] = hp[:, 5]
    # seated legs (NTU only), hanging from the pelvis, not rotated with the torso
    for side, tag in ((1, "l"), (-1, "r")):
        hip = np.array([side * 0.09 * s.shoulder / 0.19, 0.0, 0.0])
        knee = hip + np.array([side * 0.03, 0.0, 0.42]) * s.torso / 0.52
        ankle = knee + np.array([0.0, -0.43, 0.05]) * s.torso / 0.52
        foot = ankle + np.array([0.0, -0.05, 0.10])
        for name, p in (("hip", hip), ("knee", knee), ("ankle", ankle), ("foot", foot)):
            b.pts[f"{tag}_{name}"] = np.broadcast_to(p, (c.L, 3)).copy()


# ------------------------------------------------------------------------------------ gestures
# Each gesture has an optional body phase (edit angles/offsets before the body is posed) and an
# optional hand phase (set hand targets from the posed body, e.g. face points that follow the head).
def _set_hand(c: _Clip, side: int, e: F64, point: F64, h: Any, n: Any, curl: Any, pole: Any) -> None:
    L = c.L
    c.hand_target[side] = (
        e,
        point,
        np.broadcast_to(np.asarray(h, dtype=np.float64), (L, 3)).copy(),
        np.broadcast_to(np.asarray(n, dtype=np.float64), (L, 3)).copy(),
        np.broadcast_to(np.asarray(curl, dtype=np.float64), (L,)).copy(),
        np.asarray(pole, dtype=np.float64),
    )


def _jit(c: _Clip, sd: float = 0.008) -> F64:
    out: F64 = c.g.normal(0.0, sd, 3)
    return out


def _turtle_neck_body(c: _Clip) -> None:
    e = c.envelope()
    g = c.g
    c.retract[:, 1] -= g.uniform(0.02, 0.04) * e
    c.retract[:, 2] -= g.uniform(0.01, 0.03) * e
    c.head_pitch += np.deg2rad(g.uniform(4, 10)) * e
    up = g.uniform(0.015, 0.03) * e
    c.shoulder_up[1] = c.shoulder_up[1] + up
    c.shoulder_up[-1] = c.shoulder_up[-1] + up


def _deep_breath_body(c: _Clip) -> None:
    g = c.g
    k = np.arange(c.L)
    a, b = g.uniform(0, 0.2) * c.L, g.uniform(0.8, 1.1) * c.L
    e = np.sin(np.pi * np.clip((k - a) / (b - a), 0, 1)) ** 2
    up = g.uniform(0.01, 0.022) * e
    c.shoulder_up[1] = c.shoulder_up[1] + up
    c.shoulder_up[-1] = c.shoulder_up[-1] + up
    c.torso_pitch -= np.deg2rad(g.uniform(1, 3.5)) * e
    c.head_pitch -= np.deg2rad(g.uniform(0, 6)) * e


def _head_up_body(c: _Clip) -> None:
    e = c.envelope(cut_prob=0.2)
    c.head_pitch -= np.deg2rad(c.g.uniform(9, 20)) * e
    c.retract[:, 2] -= c.g.uniform(0.0, 0.015) * e


def _moving_torso_body(c: _Clip) -> None:
    g = c.g
    e = c.envelope(cut_prob=0.4)
    mode = g.integers(3)
    amp = {0: g.uniform(5, 12), 1: g.uniform(3, 7), 2: g.uniform(6, 14)}[int(mode)]
    sig = e * np.deg2rad(amp) * g.choice([-1.0, 1.0])
    if g.random() < 0.5:  # rocking instead of a single shift
        sig = e * c.osc(0.5, 1.2, np.deg2rad(amp))
    if mode == 0:
        c.torso_pitch += sig
    elif mode == 1:
        c.torso_roll += sig
    else:
        c.torso_yaw += sig
    c.head_pitch -= 0.5 * (sig if mode == 0 else 0.0)


def _shaking_shoulders_body(c: _Clip) -> None:
    g = c.g
    e = c.envelope(rise=(0.05, 0.15))
    sh = e * np.abs(c.osc(1.5, 3.0, g.uniform(0.008, 0.02)))  # |sin| at f gives bounces at 2f
    c.shoulder_up[1] = c.shoulder_up[1] + sh
    c.shoulder_up[-1] = c.shoulder_up[-1] + sh * g.uniform(0.7, 1.0)
    c.retract[:, 1] += g.uniform(0.2, 0.6) * sh
    c.torso_pitch += np.deg2rad(g.uniform(0.0, 1.5)) * sh / 0.02


def _face_touch(
    c: _Clip,
    b: _Body,
    point: F64,
    h: Any,
    n: Any,
    curl: float,
    pole: Any,
    e: F64 | None = None,
    wiggle: F64 | None = None,
) -> None:
    side = c.side
    e = c.envelope() if e is None else e
    p = point + (wiggle if wiggle is not None else 0.0)
    _set_hand(c, side, e, p, h, n, curl, pole)


def _scratching_head_hands(c: _Clip, b: _Body) -> None:
    s, g = c.side, c.g
    where = ("crown", "temple")[int(g.integers(2))]
    p = b.face(where, s, tuple(_jit(c, 0.01)))
    osc = c.osc(2.5, 4.5, g.uniform(0.008, 0.018))
    wig = np.stack([0.3 * osc, osc, 0.4 * osc], -1)
    _face_touch(
        c,
        b,
        p,
        (-s * 0.4, 0.7, -0.3),
        (-s * 0.7, -0.5, 0.0),
        g.uniform(0.4, 0.7),
        (s * 0.7, -0.6, 0.1),
        wiggle=wig,
    )


def _rubbing_eyes_hands(c: _Clip, b: _Body) -> None:
    s, g = c.side, c.g
    eye_side = s if g.random() < 0.8 else -s
    p = b.face("eye", eye_side, (0.0, -0.005, 0.012))
    osc = c.osc(2.0, 4.0, g.uniform(0.007, 0.015))
    wig = np.stack([osc, 0.4 * osc, np.zeros(c.L)], -1)
    c.head_pitch[:] += 0.0
    _face_touch(
        c,
        b,
        p,
        (-s * 0.3, 0.9, -0.3),
        (0.0, 0.0, -1.0),
        g.uniform(0.2, 0.5),
        (s * 0.4, -1.0, 0.0),
        wiggle=wig,
    )


def _rubbing_eyes_body(c: _Clip) -> None:
    c.head_pitch += np.deg2rad(c.g.uniform(3, 10))


def _touching_face_hands(c: _Clip, b: _Body) -> None:
    s, g = c.side, c.g
    where = ("nose", "cheek", "mouth")[int(g.integers(3))]
    p = b.face(where, s, (0.0, 0.0, 0.012))
    e = c.envelope(hold_min=0.1, rise=(0.2, 0.4))
    wig = None
    if g.random() < 0.4:  # tapping
        tap = np.clip(c.osc(1.5, 3.0, 0.012), 0, None)
        wig = np.stack([np.zeros(c.L), np.zeros(c.L), tap], -1)
    _face_touch(
        c,
        b,
        p,
        (-s * 0.35, 0.85, -0.3),
        (0.0, 0.0, -1.0),
        g.uniform(0.3, 0.7),
        (s * 0.4, -1.0, 0.0),
        e=e,
        wiggle=wig,
    )


def _touching_ear_hands(c: _Clip, b: _Body) -> None:
    s, g = c.side, c.g
    p = b.face("ear", s, (0.012, g.uniform(-0.02, 0.01), 0.0))
    wig = None
    if g.random() < 0.5:
        osc = c.osc(1.5, 3.0, g.uniform(0.005, 0.01))
        wig = np.stack([np.zeros(c.L), osc, 0.5 * osc], -1)
    _face_touch(
        c,
        b,
        p,
        (-s * 0.1, 0.9, -0.2),
        (-s * 1.0, 0.0, 0.0),
        g.uniform(0.2, 0.5),
        (s * 0.6, -0.8, 0.1),
        wiggle=wig,
    )


def _touching_jaw_hands(c: _Clip, b: _Body) -> None:
    s, g = c.side, c.g
    p = b.face("chin", s, (0.0, -0.01, 0.01)) if g.random() < 0.5 else b.face("jaw", s, (0.01, -0.01, 0.0))
    wig = None
    if g.random() < 0.5:  # slow stroke
        osc = c.osc(0.6, 1.5, g.uniform(0.004, 0.01))
        wig = np.stack([0.5 * osc, osc, np.zeros(c.L)], -1)
    _face_touch(
        c,
        b,
        p,
        (-s * 0.3, 0.8, -0.3),
        (0.0, 0.0, -1.0),
        g.uniform(0.3, 0.6),
        (s * 0.3, -1.0, 0.1),
        wiggle=wig,
    )


def _touching_jaw_body(c: _Clip) -> None:
    c.head_pitch += np.deg2rad(c.g.uniform(0, 5))


def _scratching_neck_hands(c: _Clip, b: _Body) -> None:
    s, g = c.side, c.g
    back = g.random() < 0.4
    off = (s * 0.05, -0.01, 0.0) if not back else (s * 0.03, 0.02, -0.055)
    p = b.neck_top + _apply(b.r_torso, np.asarray(off) * c.s.head) + _jit(c, 0.006)
    osc = c.osc(3.0, 5.0, g.uniform(0.008, 0.015))
    wig = np.stack([0.2 * osc, osc, np.zeros(c.L)], -1)
    h = (-s * 0.5, 0.5, -0.4) if not back else (-s * 0.3, 0.5, -0.8)
    _face_touch(c, b, p, h, (-s * 0.8, 0.0, -0.2), g.uniform(0.4, 0.7), (s * 0.6, -0.8, 0.2), wiggle=wig)


def _scratching_neck_body(c: _Clip) -> None:
    c.head_roll += np.deg2rad(c.g.uniform(2, 8)) * (-c.side) * -1.0
    c.head_pitch += np.deg2rad(c.g.uniform(0, 6))


def _touching_notch_hands(c: _Clip, b: _Body) -> None:
    s, g = c.side, c.g
    p = b.torso_pt((0.0, 0.025, 0.075)) + _jit(c, 0.008)
    _face_touch(c, b, p, (-s * 0.6, 0.6, -0.3), (0.0, 0.0, -1.0), g.uniform(0.2, 0.6), (s * 0.6, -1.0, 0.0))


def _folding_arms_hands(c: _Clip, b: _Body) -> None:
    g = c.g
    e = c.envelope(cut_prob=0.2)
    top = int(g.choice([-1, 1]))
    y = g.uniform(-0.2, -0.1) * c.s.torso / 0.52
    for side in (1, -1):
        p = b.torso_pt((-side * g.uniform(0.17, 0.23), y, 0.14 + (0.035 if side == top else 0.0)))
        _set_hand(
            c,
            side,
            e,
            p,
            (-side * 1.0, 0.1, -0.3),
            (0.0, 0.0, -1.0),
            g.uniform(0.3, 0.6),
            (side * 0.6, -0.7, 0.5),
        )


def _rubbing_hands_hands(c: _Clip, b: _Body) -> None:
    g = c.g
    e = c.envelope()
    centre = np.array([g.normal(0, 0.03), c.rest[1][0][0, 1] + g.uniform(0.0, 0.1), g.uniform(0.25, 0.38)])
    osc = c.osc(1.5, 3.0, g.uniform(0.012, 0.025)) * e
    for side in (1, -1):
        move = side * np.stack([0.2 * osc, 0.3 * osc, osc], -1)
        p = centre[None] + np.array([-side * 0.03, 0.0, 0.06]) + move
        _set_hand(
            c,
            side,
            e,
            p,
            (-side * 0.6, 0.15, 0.8),
            (-side * 1.0, 0.0, 0.0),
            g.uniform(0.1, 0.4),
            (side * 0.6, -1.0, -0.2),
        )


def _crossing_fingers_hands(c: _Clip, b: _Body) -> None:
    g = c.g
    e = c.envelope(cut_prob=0.2)
    raised = g.random() < 0.4
    y = c.rest[1][0][0, 1] + (g.uniform(0.15, 0.3) if raised else g.uniform(0.0, 0.06))
    centre = np.array([g.normal(0, 0.03), y, g.uniform(0.25, 0.36)])
    for side in (1, -1):
        p = centre + np.array([-side * 0.035, 0.0, 0.0])
        _set_hand(
            c,
            side,
            e,
            np.broadcast_to(p, (c.L, 3)).copy(),
            (-side * 0.9, 0.2, 0.35),
            (0.0, -0.4 if not raised else 0.0, -1.0),
            g.uniform(0.65, 0.85),
            (side * 0.6, -1.0, -0.2),
        )
        if g.random() < 0.6:
            ph = g.uniform(0, 2 * np.pi)
            f = g.uniform(1.5, 3.0)
            r = g.uniform(0.008, 0.016)
            c.thumb_wiggle[side] = (
                e[:, None]
                * r
                * np.stack(
                    [np.cos(2 * np.pi * f * c.t + ph), np.sin(2 * np.pi * f * c.t + ph), np.zeros(c.L)], -1
                )
            )


def _illustrative_hands(c: _Clip, b: _Body) -> None:
    g = c.g
    e = c.envelope(cut_prob=0.3, rise=(0.1, 0.25))
    both = g.random() < 0.5
    for side in (1, -1) if both else (c.side,):
        centre = np.array(
            [side * g.uniform(0.08, 0.22), g.uniform(0.3, 0.5) * c.s.torso / 0.52, g.uniform(0.3, 0.45)]
        )
        path = np.stack(
            [
                c.osc(0.8, 2.0, g.uniform(0.03, 0.08)) + c.osc(0.8, 2.0, g.uniform(0.0, 0.05))
                for _ in range(3)
            ],
            -1,
        )
        palm = (g.normal(0, 0.5), g.uniform(-1.0, 1.0), g.normal(0, 0.5))
        _set_hand(
            c,
            side,
            e,
            centre[None] + path,
            (-side * g.uniform(0.0, 0.6), g.uniform(0.0, 0.8), 1.0),
            palm,
            g.uniform(0.0, 0.3),
            (side * 0.6, -1.0, -0.3),
        )
    c.head_pitch += e * c.osc(1.0, 2.5, np.deg2rad(g.uniform(0, 4)))


_BodyFn = Callable[[_Clip], None]
_HandFn = Callable[[_Clip, _Body], None]
_PROGRAMS: dict[str, tuple[_BodyFn | None, _HandFn | None]] = {
    "turtle_neck": (_turtle_neck_body, None),
    "deep_breath": (_deep_breath_body, None),
    "scratching_head": (None, _scratching_head_hands),
    "rubbing_eyes": (_rubbing_eyes_body, _rubbing_eyes_hands),
    "touching_face": (None, _touching_face_hands),
    "touching_ear": (None, _touching_ear_hands),
    "touching_jaw": (_touching_jaw_body, _touching_jaw_hands),
    "scratching_neck": (_scratching_neck_body, _scratching_neck_hands),
    "touching_notch": (None, _touching_notch_hands),
    "folding_arms": (None, _folding_arms_hands),
    "moving_torso": (_moving_torso_body, None),
    "rubbing_hands": (None, _rubbing_hands_hands),
    "crossing_fingers": (None, _crossing_fingers_hands),
    "head_up": (_head_up_body, None),
    "shaking_shoulders": (_shaking_shoulders_body, None),
    "illustrative": (None, _illustrative_hands),
}


# ------------------------------------------------------------------------------------ observation
_FIN = ("thumb", "index", "middle", "ring", "pinky")
_IMIGUE22 = (
    "nose",
    "spine_shoulder",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "r_eye",
    "l_eye",
    "r_ear",
    "l_ear",
    *[f"r_{f}" for f in _FIN],
    *[f"l_{f}" for f in _FIN],
)
_NTU25 = (
    "pelvis",
    "spine_mid",
    "neck_top",
    "head",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "l_hand",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
    "r_hand",
    "l_hip",
    "l_knee",
    "l_ankle",
    "l_foot",
    "r_hip",
    "r_knee",
    "r_ankle",
    "r_foot",
    "spine_shoulder",
    "l_middle",
    "l_thumb",
    "r_middle",
    "r_thumb",
)
_IMG_W, _IMG_H = 1280.0, 720.0


def _camera(c: _Clip, b: _Body, pts: F64, ntu: bool) -> F64:
    """Body-frame points (L, V, 3) -> camera frame (x right in the image, y up, z depth)."""
    s, g = c.s, c.g
    yaw = s.cam_yaw + np.deg2rad(g.normal(0, 2.0))
    elev = s.cam_elev + np.deg2rad(g.normal(0, 1.0))
    dist = s.cam_dist * float(np.exp(g.normal(0, 0.03)))
    aim = np.array([0.0, 0.85 * s.torso, 0.0])
    q = np.einsum("ij,...j->...i", _ry(np.full(1, yaw))[0], pts - aim)
    ce, se = np.cos(elev), np.sin(elev)
    x = q[..., 0]
    y = q[..., 1] * ce - q[..., 2] * se
    z = dist - q[..., 1] * se - q[..., 2] * ce
    return np.stack([x, y, z], -1)


def _observe_2d(c: _Clip, b: _Body, noise: float, dropout: float) -> NDArray[np.float32]:
    s, g, L = c.s, c.g, c.L
    pts = np.stack([b.pts[k] for k in _IMIGUE22], 1)  # (L, 22, 3)
    cam = _camera(c, b, pts, ntu=False)
    f = s.focal
    u = _IMG_W / 2 + s.off_u + f * cam[..., 0] / cam[..., 2]
    v = _IMG_H / 2 + s.off_v - f * cam[..., 1] / cam[..., 2]
    px_per_m = f / s.cam_dist
    # scores: body 0.8, eyes 0.85, ears 0.65, fingertips 0.4; per-clip and per-frame variation
    base = np.array([0.85, 0.75, 0.7, 0.6, 0.6, 0.7, 0.6, 0.6, 0.85, 0.85, 0.65, 0.65] + [0.4] * 10)
    score = base[None] + g.normal(0, 0.06, (1, 22)) + g.normal(0, 0.08, (L, 22))
    # the ear facing away from the camera is often occluded
    yaw = s.cam_yaw + c.head_yaw
    score[:, 10] -= np.clip(np.rad2deg(yaw) / 60.0, 0, 0.6)  # right ear hidden when turned left
    score[:, 11] -= np.clip(-np.rad2deg(yaw) / 60.0, 0, 0.6)
    # hands near the face are hard for the hand detector
    for sl, wrist in ((slice(12, 17), "r_wrist"), (slice(17, 22), "l_wrist")):
        near = np.linalg.norm(b.pts[wrist] - b.pts["nose"], axis=-1) < 0.2
        score[near, sl] -= 0.15
    score = np.clip(score, 0.05, 0.99)
    sd = noise * s.jitter * (1.0 + 3.0 * (1.0 - score)) * px_per_m * 0.0025  # about 2-6 px
    u = u + g.normal(0, 1, u.shape) * sd
    v = v + g.normal(0, 1, v.shape) * sd
    p_drop = dropout * s.drop * np.where(np.arange(22) >= 12, 0.06, 0.01)[None] * (1.5 - score)
    drop = g.random((L, 22)) < p_drop
    if g.random() < 0.3 * dropout:  # a run of frames where one hand's fingertips are lost
        a = int(g.integers(0, L))
        n = int(g.integers(3, 16))
        drop[a : a + n, (slice(12, 17), slice(17, 22))[int(g.integers(2))]] = True
    drop |= (u < 1) | (u > _IMG_W - 1) | (v < 1) | (v > _IMG_H - 1)
    out = np.stack([u, v, score], -1)
    out[drop] = 0.0
    return out.astype(np.float32)


def _observe_3d(c: _Clip, b: _Body, noise: float, dropout: float) -> NDArray[np.float32]:
    s, g, L = c.s, c.g, c.L
    pts = np.stack([b.pts[k] for k in _NTU25], 1)
    cam = _camera(c, b, pts, ntu=True)
    out = np.stack([-(cam[..., 0] - s.k_x), cam[..., 1] + s.k_height, cam[..., 2]], -1)
    sd = np.full(25, 0.005)
    sd[[6, 7, 10, 11, 21, 22, 23, 24]] = 0.012
    out = out + g.normal(0, 1, out.shape) * (noise * s.jitter * sd)[None, :, None]
    drop = g.random((L, 25)) < dropout * s.drop * 0.003
    out[drop] = 0.0
    return out.astype(np.float32)


# ------------------------------------------------------------------------------------ public API
@dataclass(frozen=True)
class SyntheticMG:
    """A generated synthetic MG dataset.

    Attributes:
        data: ``(N, 1, T, V, C)`` float32, zero-padded after ``lengths[n]`` frames. ``imigue22``:
            ``C = 3`` = (x, y) pixels in a 1280 x 720 image + score; ``ntu25``: ``C = 3`` = (x, y, z)
            metres in Kinect camera space.
        lengths: ``(N,)`` int64 valid frame counts.
        labels: ``(N,)`` int64 indices into ``class_names``.
        class_names: Class names (see :data:`CLASSES`; the last one is the non-MG ``illustrative``).
        subjects: ``(N,)`` int64 subject ids (for cross-subject splits).
        layout: ``"imigue22"`` or ``"ntu25"``.
        fps: Frame rate (25).
    """

    data: NDArray[np.float32]
    lengths: NDArray[np.int64]
    labels: NDArray[np.int64]
    class_names: list[str]
    subjects: NDArray[np.int64]
    layout: str
    fps: float = 25.0

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def subset(self, index: Any) -> SyntheticMG:
        """The samples selected by ``index`` (a boolean mask or integer indices), as a new dataset."""
        idx = np.asarray(index)
        return SyntheticMG(
            self.data[idx],
            self.lengths[idx],
            self.labels[idx],
            list(self.class_names),
            self.subjects[idx],
            self.layout,
            self.fps,
        )

    def cross_subject_split(
        self, test_fraction: float = 0.4, seed: int = 0
    ) -> tuple[SyntheticMG, SyntheticMG]:
        """Split by subject (no subject in both parts), like iMiGUE's cross-subject protocol.

        ``round(test_fraction * S)`` of the ``S`` subjects present (at least one, at most ``S - 1``)
        are drawn for the test part with ``numpy.random.default_rng(seed)``.
        """
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction={test_fraction}; use a fraction strictly between 0 and 1")
        subj = np.unique(self.subjects)
        if subj.size < 2:
            raise ValueError(f"only {subj.size} subject present; a cross-subject split needs at least 2")
        k = int(np.clip(round(test_fraction * subj.size), 1, subj.size - 1))
        test = np.random.default_rng(seed).choice(subj, size=k, replace=False)
        mask = np.isin(self.subjects, test)
        return self.subset(~mask), self.subset(mask)


def _class_probs(long_tail: float | None) -> NDArray[np.float64]:
    k = len(CLASSES)
    if long_tail is None:
        return np.full(k, 1.0 / k)
    order = np.array([_TAIL_ORDER.index(c.name) for c in CLASSES])
    p = float(long_tail) ** (-order / (k - 1))
    out: NDArray[np.float64] = p / p.sum()
    return out


def generate(
    num_samples: int,
    layout: Literal["imigue22", "ntu25"] | str = "imigue22",
    *,
    num_frames: int = 64,
    seed: int = 0,
    long_tail: float | None = None,
    num_subjects: int = 30,
    min_frames: int = 16,
    noise: float = 1.0,
    dropout: float = 1.0,
    fps: float = 25.0,
) -> SyntheticMG:
    """Generate ``num_samples`` labelled synthetic MG clips (see the module docstring for the model).

    Args:
        num_samples: Number of clips ``N`` (``>= 0``).
        layout: ``"imigue22"`` (2D pixels + score, ``C = 3``) or ``"ntu25"`` (3D metres, ``C = 3``).
        num_frames: Padded length ``T``; valid lengths lie in ``min_frames..num_frames``.
        seed: Non-negative seed; sample ``i`` depends only on ``(seed, i)`` and the options.
        long_tail: ``None`` for balanced classes (every block of 16 consecutive samples holds each class
            once, in a random order); else an imbalance ratio ``r >= 1``: class of frequency rank
            ``k = 0..K-1`` (ranked like iMiGUE) is drawn with probability ``proportional to r^(-k/(K-1))``,
            so the most frequent class is ``r`` times as likely as the rarest.
        num_subjects: Number of distinct subjects; each sample's subject is drawn uniformly.
        min_frames: Shortest valid length (``>= 2``, ``<= num_frames``).
        noise: Multiplier of the pose-estimator jitter (0 disables it).
        dropout: Multiplier of the dropped-joint rates (0 disables dropped joints, except joints
            leaving the image in 2D).
        fps: Frame rate; gesture frequencies are in Hz, clip lengths in frames.

    Returns:
        A :class:`SyntheticMG`.

    Raises:
        ValueError: on an unknown layout or out-of-range option, naming it.
    """
    if layout not in ("imigue22", "ntu25"):
        raise ValueError(
            f"layout={layout!r}; the synthetic generator supports 'imigue22' (2D) and 'ntu25' (3D)"
        )
    for name, val, lo in (
        ("num_samples", num_samples, 0),
        ("num_subjects", num_subjects, 1),
        ("min_frames", min_frames, 2),
        ("seed", seed, 0),
    ):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < lo:
            raise ValueError(f"{name}={val!r}; expected an integer >= {lo}")
    if (
        isinstance(num_frames, bool)
        or not isinstance(num_frames, int | np.integer)
        or num_frames < min_frames
    ):
        raise ValueError(f"num_frames={num_frames!r}; expected an integer >= min_frames={min_frames}")
    if long_tail is not None and not (np.isfinite(long_tail) and long_tail >= 1.0):
        raise ValueError(f"long_tail={long_tail!r}; use None (balanced) or an imbalance ratio >= 1")
    for name, fval in (("noise", noise), ("dropout", dropout), ("fps", fps)):
        if not np.isfinite(fval) or fval < 0 or (name == "fps" and fval == 0):
            raise ValueError(f"{name}={fval!r}; expected a finite value >= 0 (fps > 0)")

    k = len(CLASSES)
    n, t = int(num_samples), int(num_frames)
    v = 22 if layout == "imigue22" else 25
    data = np.zeros((n, 1, t, v, 3), dtype=np.float32)
    lengths = np.zeros(n, dtype=np.int64)
    labels = np.zeros(n, dtype=np.int64)
    subjects = np.zeros(n, dtype=np.int64)
    cdf = np.cumsum(_class_probs(long_tail))
    perms: dict[int, NDArray[np.int64]] = {}
    subj_cache: dict[int, _Subject] = {}
    for i in range(n):
        if long_tail is None:
            blk = i // k
            if blk not in perms:
                perms[blk] = np.random.default_rng([seed, 2, blk]).permutation(k)
            label = int(perms[blk][i % k])
        else:
            u = np.random.default_rng([seed, 3, i]).random()
            label = min(int(np.searchsorted(cdf, u, side="right")), k - 1)
        g = np.random.default_rng([seed, 1, i])
        sid = int(g.integers(num_subjects))
        if sid not in subj_cache:
            subj_cache[sid] = _subject(seed, sid, layout)
        length = int(np.clip(round(40.0 * np.exp(g.normal(0.0, 0.9))), min_frames, t))
        clip = _Clip(g, subj_cache[sid], length, fps)
        body_fn, hand_fn = _PROGRAMS[CLASSES[label].name]
        if body_fn is not None:
            body_fn(clip)
        body = _body(clip)
        if hand_fn is not None:
            hand_fn(clip, body)
        _arms(clip, body)
        if layout == "imigue22":
            obs = _observe_2d(clip, body, noise, dropout)
        else:
            obs = _observe_3d(clip, body, noise, dropout)
        data[i, 0, :length] = obs
        lengths[i], labels[i], subjects[i] = length, label, sid
    return SyntheticMG(data, lengths, labels, class_names(), subjects, str(layout), float(fps))


class SyntheticMGDataset(ClipDataset):
    """A torch ``Dataset`` over :func:`generate` (generated once, eagerly, at construction).

    Items are dicts (see :class:`skelaug.data.datasets.ClipDataset`): ``data`` float32 tensor
    ``(1, T, V, C)``, ``length``, ``label``, ``subject`` and ``index``. With ``transform``, each item
    is transformed as ``transform(x, length, generator) -> (x, length)`` (skelaug augmentations have
    this signature; a plain ``x -> x`` result and :class:`~skelaug.augment.MultiView`'s tuple of
    views are also accepted) with a :class:`numpy.random.Generator`: by default drawn from torch's
    per-process generator, so a plain ``DataLoader`` gives new augmentations every epoch and worker
    and ``torch.manual_seed`` reproduces a run; with ``transform_seed=<int>``, keyed by
    ``(transform_seed, epoch, index)`` (the same for any number of workers): then call
    :meth:`set_epoch` each epoch, or feed the indices from :class:`skelaug.data.EpochSampler`. See
    :mod:`skelaug.data.datasets` for the contract.

    Example:
        >>> from skelaug.data.synthetic import SyntheticMGDataset
        >>> ds = SyntheticMGDataset(20, num_frames=32, seed=1)
        >>> item = ds[3]
        >>> tuple(item["data"].shape), item["label"] == int(ds.source.labels[3])
        ((1, 32, 22, 3), True)
    """

    def __init__(
        self,
        num_samples: int,
        layout: str = "imigue22",
        *,
        transform: Any = None,
        transform_seed: int | None = None,
        num_frames: int = 64,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            num_frames=num_frames, max_persons=1, sampling="start", transform=transform, seed=transform_seed
        )
        self.source = generate(num_samples, layout, num_frames=num_frames, **kwargs)
        self.class_names = self.source.class_names
        self.layout = self.source.layout
        self.labels = self.source.labels

    def load(self, index: int) -> tuple[NDArray[np.float32], int]:
        n = int(self.source.lengths[index])
        return self.source.data[index], n

    def meta(self, index: int) -> dict[str, Any]:
        return {"subject": int(self.source.subjects[index])}
