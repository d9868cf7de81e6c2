"""Models rlvr builds itself (no hub downloads): tokenizers and small causal LMs."""
