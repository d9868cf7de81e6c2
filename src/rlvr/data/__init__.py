"""Data tools (`rlvr data`): deduplication and decontamination of training problems."""
