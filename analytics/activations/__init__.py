"""Activation maps: per-channel norms, Grad-CAM and backdoor pruning (needs torch)."""
