"""Evaluation: sample, score, and measure pass@k / maj@k / best-of-N per domain."""
