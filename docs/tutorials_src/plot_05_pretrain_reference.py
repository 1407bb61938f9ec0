"""
Pre-training the dual-stream contrastive recognizer (briefly)
=============================================================

``reference_models/mg_contrastive`` pre-trains a graph stream (ST-GCN with the balancing-fusion block) and
a recurrent stream (bidirectional GRU) by contrasting MG-augmented views across streams (cross-stream MoCo),
then evaluates them with a linear probe and kNN. The full runs use the TOML configs in
``reference_models/mg_contrastive/configs`` (``python -m reference_models.mg_contrastive pretrain --config
...``); this tutorial runs the tiny config for a few seconds to show the moving parts: config, checkpoints,
metrics log, resume and evaluation.
"""

import tempfile
from pathlib import Path

from reference_models.mg_contrastive import evaluate, load_config, pretrain
from reference_models.mg_contrastive.evaluate import results_markdown

config_dir = Path("reference_models/mg_contrastive/configs")
if not config_dir.is_dir():                     # the docs build runs tutorials from docs/tutorials_src
    config_dir = Path("../../reference_models/mg_contrastive/configs")
cfg = load_config(config_dir / "tiny.toml")
print(cfg.data)

# %%
# Pre-train (writes last.pt atomically every epoch, encoder.pt and metrics.csv), then run the same command
# again: it resumes from last.pt and finds nothing left to do.
out = Path(tempfile.mkdtemp()) / "tiny"
summary = pretrain(cfg, out, device="cpu", show_progress=False)
print(sorted(p.name for p in out.iterdir()))
print((out / "metrics.csv").read_text().splitlines()[:3])
again = pretrain(cfg, out, device="cpu", show_progress=False)      # resumes from last.pt: already finished
print("the second call trained", again["global_step"] - summary["global_step"], "more steps")

# %%
# Linear probe and kNN on the frozen encoder, per stream and fused, against the same encoder with random
# weights (``checkpoint=None``). With 64 tiny clips and two epochs these numbers mean nothing; the measured
# results of the default synthetic config are in ``reference_models/README.md``.
trained = evaluate(cfg, out, checkpoint=out / "encoder.pt", device="cpu", show_progress=False, tag="trained")
random = evaluate(cfg, out, checkpoint=None, device="cpu", show_progress=False, tag="random")
print(results_markdown(trained))
print(results_markdown(random))
