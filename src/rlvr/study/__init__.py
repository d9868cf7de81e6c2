"""Studies: several training runs from one start, measured side by side (`rlvr study ...`)."""
