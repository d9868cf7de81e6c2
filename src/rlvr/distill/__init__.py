"""Distillation: a student learns from a teacher's distributions (rlvr.distill.losses) or its
per-token log-probs on the student's own samples (on-policy distillation), `rlvr distill`."""
