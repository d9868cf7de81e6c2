"""Training: supervised fine-tuning (sft) now; the RLVR loop comes next."""
