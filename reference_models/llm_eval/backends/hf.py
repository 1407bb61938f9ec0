"""Local Hugging Face ``transformers`` backend that scores the answer options by log-likelihood.

Instead of generating text, the prompt :math:`x` (rendered with the tokenizer's chat template when it
has one, else the messages joined by blank lines) is followed by each option's answer string
:math:`a_k` (``"Answer: A"``, the same line few-shot examples show), and the option with the highest

.. math:: s_k = \\sum_{t} \\log p_\\theta(a_{k,t} \\mid x, a_{k,<t})

wins (``normalize="mean"`` divides by the number of answer tokens). Every item therefore gets a
valid answer, and the scores are returned so that the two answer orders can be combined.

Needs the optional extra (``pip install "transformers>=4.40"``); a model is loaded with
``AutoModelForCausalLM.from_pretrained(name)`` or passed in ready-made (the tests build a tiny random
model without any download).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from reference_models.llm_eval.backends.base import BackendError, CancelToken, Reply, Request, RequestCancelled

__all__ = ["TransformersBackend"]


def _require_transformers() -> Any:
    try:
        import transformers  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise ImportError("the transformers backend needs the optional extra: pip install 'transformers>=4.40' "
                          "(or use the openai backend against a model server)") from None
    return transformers


class TransformersBackend:
    """Score options with a local causal language model.

    Args:
        model: A model name/path for ``AutoModelForCausalLM.from_pretrained``, or a loaded model.
        tokenizer: The tokenizer (loaded from ``model`` when it is a name).
        model_id: Name recorded in the cache key (required when ``model`` is an object, so that two
            different objects never share cache entries by accident).
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA if available).
        dtype: Torch dtype name for loading (``"auto"``, ``"bfloat16"``, ``"float32"``).
        normalize: ``"sum"`` or ``"mean"`` of the answer tokens' log-probabilities.
        use_chat_template: Use the tokenizer's chat template (default: when it has one).
        max_length: Longest prompt + answer in tokens (default: the model's position limit); longer
            prompts fail that item with a clear error.
        revision: Model revision for loading and for the cache key.
    """

    kind = "hf-loglik"
    max_concurrency = 1

    def __init__(self, model: Any, tokenizer: Any = None, *, model_id: str | None = None, device: str | None = None,
                 dtype: str = "auto", normalize: Literal["sum", "mean"] = "sum", use_chat_template: bool | None = None,
                 max_length: int | None = None, revision: str | None = None) -> None:
        transformers = _require_transformers()
        import torch

        if normalize not in ("sum", "mean"):
            raise ValueError(f"normalize is {normalize!r}; use 'sum' or 'mean'")
        if dtype not in ("auto", "float32", "float16", "bfloat16"):
            raise ValueError(f"dtype is {dtype!r}; use 'auto', 'float32', 'float16' or 'bfloat16'")
        if isinstance(model, str):
            self.model_id = model_id or model
            kw: dict[str, Any] = {"revision": revision}
            major_minor = tuple(int(x) for x in transformers.__version__.split(".")[:2])
            # transformers 4.56 renamed torch_dtype to dtype
            dtype_arg = "dtype" if major_minor >= (4, 56) else "torch_dtype"
            kw[dtype_arg] = "auto" if dtype == "auto" else getattr(torch, dtype)
            self.lm = transformers.AutoModelForCausalLM.from_pretrained(model, **kw)
            self.tokenizer = tokenizer or transformers.AutoTokenizer.from_pretrained(model, revision=revision)
        else:
            if model_id is None:
                raise ValueError("model_id is None; name an in-memory model so its cache entries are identifiable")
            if tokenizer is None:
                raise ValueError("tokenizer is None; pass the tokenizer that goes with the in-memory model")
            self.model_id, self.lm, self.tokenizer = model_id, model, tokenizer
        self.model = self.model_id
        self.revision = revision
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.lm.to(self.device).eval()
        self.normalize = normalize
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        if use_chat_template and not has_template:
            raise ValueError("use_chat_template is True but the tokenizer has no chat template")
        self.use_chat_template = has_template if use_chat_template is None else use_chat_template
        limit = getattr(self.lm.config, "max_position_embeddings", None) or getattr(self.lm.config, "n_positions", None)
        self.max_length = max_length or (int(limit) if limit else None)

    def __repr__(self) -> str:
        return f"TransformersBackend({self.model_id!r}, device={str(self.device)!r}, normalize={self.normalize!r})"

    def prompt_text(self, request: Request) -> str:
        """The prompt the answers are scored after."""
        if self.use_chat_template:
            return str(self.tokenizer.apply_chat_template(request.chat(), tokenize=False, add_generation_prompt=True))
        return "\n\n".join(c for _, c in request.messages) + "\n\n"

    def cache_payload(self, request: Request) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.model_id, "revision": self.revision, "normalize": self.normalize,
                "chat_template": self.use_chat_template, "messages": request.chat(),
                "answers": [c.answer for c in request.choices]}

    def _ids(self, text: str, special: bool) -> list[int]:
        out = self.tokenizer(text, add_special_tokens=special)["input_ids"]
        return [int(i) for i in out]

    def complete(self, request: Request, *, cancel: CancelToken | None = None) -> Reply:
        """Score every choice's answer string after the prompt; reply with the best one.

        A forward pass cannot be stopped midway: a cancelled ``cancel`` is honoured before it starts.
        """
        import torch

        if cancel is not None and cancel.cancelled:
            raise RequestCancelled("cancelled before scoring")
        if not request.choices:
            raise BackendError("the request has no choices to score")
        prompt = self._ids(self.prompt_text(request), special=not self.use_chat_template)
        if not prompt:
            raise BackendError("the prompt tokenizes to nothing")
        conts = [self._ids(c.answer, special=False) for c in request.choices]
        if any(not c for c in conts):
            raise BackendError("an answer string tokenizes to nothing; check answer.txt")
        longest = len(prompt) + max(len(c) for c in conts)
        if self.max_length is not None and longest > self.max_length:
            raise BackendError(f"prompt + answer is {longest} tokens; the model takes {self.max_length}. "
                               "Shorten the evidence (max_sequence, evidence_parts) or use a longer-context model")
        seqs = [prompt + c for c in conts]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), int(pad), dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):  # right padding keeps every real token at its own position
            ids[i, : len(s)] = torch.tensor(s)
            mask[i, : len(s)] = 1
        with torch.inference_mode():
            logits = self.lm(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
            logp = torch.log_softmax(logits.float(), dim=-1)  # (n_choices, width, vocab)
        scores: dict[str, float] = {}
        for i, (c, cont) in enumerate(zip(request.choices, conts, strict=True)):
            start = len(prompt)
            # token t of the answer is predicted by position start + t - 1
            pos = torch.arange(start - 1, start - 1 + len(cont), device=logp.device)
            tok = torch.tensor(cont, device=logp.device)
            total = float(logp[i, pos, tok].sum())
            scores[c.key] = total / len(cont) if self.normalize == "mean" else total
        best = max(request.choices, key=lambda c: (scores[c.key], -request.choices.index(c)))
        if not all(math.isfinite(s) for s in scores.values()):
            raise BackendError(f"non-finite option scores {scores}; the model produced NaN/inf logits")
        return Reply(text=best.answer, scores=scores, meta={"prompt_tokens": len(prompt)})
