"""Micro-gesture cues for emotion understanding with large language models (reference recipe).

Run ``python -m reference_models.llm_eval --help``; see ``reference_models/README.md``.
"""
