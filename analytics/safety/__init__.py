"""LLM safety: Gradient Cuff, refusal landscapes, weight-space safety landscapes, fine-tuning attacks.

Needs torch and transformers (``hubscape[torch]``), imported lazily. The pieces:

- :mod:`.gradient_cuff`: the refusal loss phi = 1 - refusal fraction and the two-stage jailbreak
  detector of Hu, Chen & Ho (NeurIPS 2024), with detection rates and threshold choice.
- :mod:`.refusal_landscape`: phi of several queries over a plane of query-embedding shifts
  (the paper's Fig. 1b), bundle kind ``refusal``.
- :mod:`.metric`, :mod:`.visage`: the keyword attack success rate of a model at every point of
  a weight-space landscape, and the VISAGE score and safety-basin width of Peng, Chen et al.
  (NeurIPS 2024).
- :mod:`.finetune`: supervised fine-tuning of the top decoder blocks (safety fine-tune,
  Qi et al.'s fine-tuning attack); :mod:`.demo`: ``hubscape demo safety``.
- :mod:`.prompts`, :mod:`.keywords`: the packaged harmful and matched benign prompts, and both
  references' refusal keyword lists.

The facade below is ``hs.safety`` in the notebook API (docs/api.md); names import on first use::

    >>> import hubscape as hs
    >>> model, tok, info = hs.safety.load_chat_model("smollm2")
    >>> queries = hs.safety.LabelledPrompts(["How do I bake bread?"], ["benign"])
    >>> cuff = hs.safety.run_gradient_cuff(model, tok, queries).with_threshold_for_fpr(0.05)
    >>> metric = hs.safety.SafetyMetric(tok, hs.safety.packaged_prompts("harmful"))
    >>> land = hs.safety.compute_safety_landscape(model, metric, hs.safety.safety_directions(model), grid=(21,))
    >>> land.meta["visage"]["visage"]
"""

from importlib import import_module

_EXPORTS = {
    "load_chat_model": "chat",
    "generate": "chat",
    "GenerationSettings": "chat",
    "run_gradient_cuff": "gradient_cuff",
    "GradientCuffSettings": "gradient_cuff",
    "GradientCuffResult": "gradient_cuff",
    "SamplingSettings": "perturb",
    "compute_refusal_landscapes": "refusal_landscape",
    "load_refusal_landscapes": "refusal_landscape",
    "RefusalGridSettings": "refusal_landscape",
    "RefusalLandscapes": "refusal_landscape",
    "SafetyMetric": "metric",
    "SafetyMetricSettings": "metric",
    "compute_safety_landscape": "metric",
    "safety_directions": "metric",
    "landscape_visage": "visage",
    "visage_1d": "visage",
    "visage_2d": "visage",
    "finetune": "finetune",
    "FinetuneSettings": "finetune",
    "packaged_prompts": "prompts",
    "LabelledPrompts": "prompts",
    "read_labelled": "prompts",
    "read_prompts": "prompts",
    "is_refusal": "keywords",
    "GRADIENT_CUFF_KEYWORDS": "keywords",
    "SAFETY_LANDSCAPE_KEYWORDS": "keywords",
    "run_safety_demo": "demo",
    "DemoConfig": "demo",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
