"""Adapter to the iMiGUE label reader (temporary: switch to :mod:`skelaug.io.imigue` once it is on main).

The recipe needs two things from the dataset module: the class names and the label rows
(``video``, ``start_time``, ``end_time``, ``mg_class`` in 1..32 with the file's 99 mapped to 32, and
``win``). Until ``skelaug.io.imigue`` (``IMIGUE_CLASSES``, ``read_imigue_labels``) is merged, this
module provides the same names with the same fields; replacing its body by::

    from skelaug.io.imigue import IMIGUE_CLASSES as IMIGUE_CLASS_NAMES
    from skelaug.io.imigue import read_imigue_labels as read_label_rows

is the whole switch.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

__all__ = ["IMIGUE_CLASS_NAMES", "LabelRow", "read_label_rows"]

IMIGUE_CLASS_NAMES: dict[int, str] = {
    1: "turtle neck", 2: "bulging face, deep breath", 3: "touching hat", 4: "touching or scratching head",
    5: "touching or scratching forehead", 6: "covering face", 7: "rubbing eyes",
    8: "touching or scratching facial parts", 9: "touching ears", 10: "biting nails", 11: "touching jaw",
    12: "touching or scratching neck", 13: "playing or adjusting hair",
    14: "buckling button, pulling shirt collar, adjusting tie", 15: "touching or covering suprasternal notch",
    16: "scratching back", 17: "folding arms", 18: "dusting off clothes", 19: "putting arms behind body",
    20: "moving torso", 21: "sitting straightly", 22: "scratching or touching arms",
    23: "rubbing or holding hands", 24: "crossing fingers", 25: "minaret gesture",
    26: "playing or manipulating objects", 27: "holding back arms", 28: "head up", 29: "pressing lips",
    30: "arms akimbo", 31: "shaking shoulders", 32: "illustrative body language",
}


@dataclass(frozen=True)
class LabelRow:
    """The fields of one ``labels_20200831.csv`` row that the recipe uses."""

    video: int
    start_time: float
    end_time: float
    mg_class: int
    win: bool
    line: int = 0


def read_label_rows(path: str | os.PathLike[str]) -> list[LabelRow]:
    """Read ``labels_20200831.csv`` (errors name the file and line)."""
    out = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        need = {"video_id", "start_time", "end_time", "class", "win_or_lose"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise ValueError(f"{path}: header {reader.fieldnames} lacks {sorted(need)}; is it the iMiGUE label file?")
        for r in reader:
            try:
                cls = int(r["class"])
                wl = r["win_or_lose"].strip().lower()
                if wl not in ("win", "lose"):
                    raise ValueError(f"win_or_lose is {r['win_or_lose']!r}, expected Win or Lose")
                if not (1 <= cls <= 31 or cls == 99):
                    raise ValueError(f"class {cls} is not 1..31 or 99")
                out.append(LabelRow(int(r["video_id"]), float(r["start_time"]), float(r["end_time"]),
                                    32 if cls == 99 else cls, wl == "win", reader.line_num))
            except (ValueError, TypeError) as e:
                raise ValueError(f"{path}, line {reader.line_num}: {e}") from None
    return out
