"""Pure tensor math of RLVR: advantages, policy losses, aggregation, KL, pass@k, log-probs.

Every component is a function registered by name with one shared signature per kind, a
formula in its docstring and a frozen config dataclass with visible defaults.
"""
