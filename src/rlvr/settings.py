"""The base of every settings model: unknown keys are errors, values cannot change after validation.

Below config and explore, so that each exploration method can declare its own settings model in
its own file (rlvr.explore) and the training config can hold it without an import cycle.
"""

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
