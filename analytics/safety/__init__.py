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
"""
