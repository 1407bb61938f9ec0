"""The transformers log-likelihood backend with a tiny randomly initialised GPT-2 built in the test (no download).

The oracle is an unbatched, unpadded forward pass per option and a plain loop over the answer tokens.
Skipped when the optional ``transformers`` extra is not installed.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers", reason="optional extra: pip install 'transformers>=4.40'")
torch = pytest.importorskip("torch")
tokenizers = pytest.importorskip("tokenizers")

from reference_models.llm_eval.backends.base import Request  # noqa: E402
from reference_models.llm_eval.backends.hf import TransformersBackend  # noqa: E402
from reference_models.llm_eval.cache import ResponseCache  # noqa: E402
from reference_models.llm_eval.events import MGEvent, VideoRecord  # noqa: E402
from reference_models.llm_eval.runner import combine_orders, run_items  # noqa: E402
from reference_models.llm_eval.scenarios import BuildConfig, Scenario, build_items  # noqa: E402


def _tiny(seed: int = 0):
    chars = [chr(i) for i in range(32, 127)] + ["\n"]
    vocab = {"[UNK]": 0, "[PAD]": 1} | {c: i + 2 for i, c in enumerate(chars)}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Split(tokenizers.Regex(r"[\s\S]"), behavior="isolated")
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    cfg = transformers.GPT2Config(vocab_size=len(vocab), n_positions=4096, n_embd=32, n_layer=1, n_head=2,
                                  bos_token_id=None, eos_token_id=None, pad_token_id=1)
    model = transformers.GPT2LMHeadModel(cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # explicit generator: no global RNG
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model.eval(), fast


def _videos(n: int) -> list[VideoRecord]:
    return [VideoRecord(str(i), tuple(MGEvent(j * 2.0, j * 2.0 + 1.0, 1 + (3 * i + j) % 32) for j in range(2 + i % 3)),
                        label=("positive", "negative")[i % 2], split="test" if i < 4 else "train")
            for i in range(8)][:n]


@pytest.fixture(scope="module")
def backend():
    model, tok = _tiny()
    return TransformersBackend(model, tok, model_id="tiny-random-gpt2", device="cpu")


def _oracle_scores(backend: TransformersBackend, request: Request) -> dict[str, float]:
    prompt = backend.tokenizer(backend.prompt_text(request))["input_ids"]
    out = {}
    for c in request.choices:
        cont = backend.tokenizer(c.answer, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([prompt + cont])
        with torch.no_grad():
            logits = backend.lm(input_ids=ids).logits[0].double()
        total = 0.0
        for t, tok in enumerate(cont):
            row = logits[len(prompt) + t - 1]
            total += float(row[tok] - torch.logsumexp(row, 0))
        out[c.key] = total
    return out


def test_every_item_gets_a_valid_option_and_the_scores_match_an_unbatched_oracle(backend, tmp_path):
    sc = Scenario.load("press_conference")
    videos = _videos(8)
    items = build_items(sc, [v for v in videos if v.split == "test"],
                        BuildConfig(conditions=("context", "mg", "mg_fewshot"), order="both", fewshot_k=2,
                                    max_sequence=3), fewshot_pool=[v for v in videos if v.split == "train"])
    with ResponseCache(tmp_path / "c.jsonl") as cache:
        results, stats = run_items(items, backend, cache, progress=False)
    assert len(results) == len(items) == 4 * 3 * 2
    assert all(r.prediction in sc.options and r.error is None and r.parse == "answer-line" for r in results)
    assert stats.unparsed == 0 and stats.failed == 0
    for it, r in list(zip(items, results, strict=True))[:6]:
        want = _oracle_scores(backend, Request.of(it))
        assert r.scores is not None
        assert r.scores == pytest.approx(want, abs=1e-4)
        assert r.prediction == max(want, key=want.__getitem__)
    # both orders are combined through the scores: the mean of per-order log-softmax
    preds = combine_orders(results)
    assert all(p.how == "scores" and p.prediction in sc.options for p in preds)
    p0 = next(p for p in preds if p.condition == "mg")
    rs = [r for r in results if r.video == p0.video and r.condition == "mg"]
    ls = [np.array([r.scores[k] for k in sorted(sc.options)]) for r in rs]
    ls = [v - np.log(np.exp(v).sum()) for v in ls]
    assert p0.prediction == sorted(sc.options)[int(np.argmax(ls[0] + ls[1]))]
    # second run: all from the cache, same answers
    with ResponseCache(tmp_path / "c.jsonl") as cache:
        again, stats2 = run_items(items, backend, cache, progress=False)
    assert stats2.requests == 0 and [r.scores for r in again] == [r.scores for r in results]


def test_mean_normalisation_and_too_long_prompts(backend):
    model, tok = backend.lm, backend.tokenizer
    mean = TransformersBackend(model, tok, model_id="tiny", device="cpu", normalize="mean")
    sc = Scenario.load("interview")
    item = build_items(sc, [VideoRecord("a", (MGEvent(0, 1, 5),), label="anxious")],
                       BuildConfig(conditions=("mg",), order="fixed"))[0]
    req = Request.of(item)
    want = _oracle_scores(backend, req)
    n_tokens = {c.key: len(tok(c.answer, add_special_tokens=False)["input_ids"]) for c in req.choices}
    got = mean.complete(req).scores
    assert got == pytest.approx({k: v / n_tokens[k] for k, v in want.items()}, abs=1e-4)
    short = TransformersBackend(model, tok, model_id="tiny", device="cpu", max_length=50)
    from reference_models.llm_eval.backends.base import BackendError

    with pytest.raises(BackendError, match="tokens"):
        short.complete(req)
    assert all(math.isfinite(v) for v in got.values())


def test_chat_template_prompt_is_scored_after_the_generation_prompt(backend):
    model, tok = _tiny(seed=1)
    tok.chat_template = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
                         "{% if add_generation_prompt %}<assistant>{% endif %}")
    b = TransformersBackend(model, tok, model_id="tiny-chat", device="cpu")
    assert b.use_chat_template
    req = Request((("system", "Be brief."), ("user", "Pick one.")), build_items(
        Scenario.load("interview"), [VideoRecord("a", (), label="anxious")],
        BuildConfig(conditions=("context",), order="fixed"))[0].choices)
    assert b.prompt_text(req) == "<system>Be brief.\n<user>Pick one.\n<assistant>"
    reply = b.complete(req)
    assert reply.scores == pytest.approx(_oracle_scores(b, req), abs=1e-4)
    assert reply.text in {c.answer for c in req.choices}
    assert b.cache_payload(req) != TransformersBackend(model, tok, model_id="tiny-chat", device="cpu",
                                                       use_chat_template=False).cache_payload(req)


def test_in_memory_model_needs_an_id_and_a_tokenizer(backend):
    with pytest.raises(ValueError, match="model_id"):
        TransformersBackend(backend.lm, backend.tokenizer)
    with pytest.raises(ValueError, match="tokenizer"):
        TransformersBackend(backend.lm, None, model_id="x")
    with pytest.raises(ValueError, match="normalize"):
        TransformersBackend(backend.lm, backend.tokenizer, model_id="x", normalize="max")  # type: ignore[arg-type]


def test_cli_hf_backend_loads_a_saved_model_folder_offline(tmp_path):
    from reference_models.llm_eval.__main__ import main

    model, tok = _tiny(seed=2)
    folder = tmp_path / "tiny-model"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    ex = os.path.join(os.path.dirname(__file__), "..", "..", "reference_models", "llm_eval", "examples", "interview")
    out = tmp_path / "run"
    args = ["run", "--backend", "hf", "--model", str(folder), "--device", "cpu", "--dtype", "float32",
            "--scenario", "interview", "--events", os.path.join(ex, "events.csv"), "--video-labels",
            os.path.join(ex, "labels.csv"), "--conditions", "mg,context_mg", "--out", str(out), "--no-progress",
            "--n-boot", "100"]
    assert main(args) == 0
    import json

    preds = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 4 * 2 and all(p["prediction"] in ("confident", "anxious") and p["how"] == "scores"
                                       for p in preds)
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["backend"] == "hf-loglik" and report["conditions"]["mg"]["answered"] == 1.0
