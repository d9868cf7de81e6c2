"""Data tools (`rlvr data`): deduplication, decontamination and difficulty filtering of training problems."""
