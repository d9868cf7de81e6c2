"""Thinking modes, applied through the tokenizer's chat template.

- `on`: the template's own generation prompt; the model thinks as long as it likes.
- `off` (NoThinking, Ma et al. 2025): the assistant turn is prefilled with a closed thinking
  block: the opener, "Okay, I think I have finished thinking.", then the closing tag.
- `empty`: the assistant turn is prefilled with an empty thinking block (opener, newline, closing
  tag): the non-thinking mode a hybrid model was trained with (the shipped tiny reasoner's;
  Qwen3's `enable_thinking=False` form has one more blank line).
- `budget:N` (budget forcing): thinking is capped at N tokens; a sample that has not closed its
  thinking by then gets "\\n</think>\\n\\n" appended and answers within its own answer budget
  (the sampler's max_new_tokens). Forced tokens carry log-prob 0 (they were not sampled).

Templates without thinking tags fail with a clear message for `off`, `empty` and `budget:N`.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN, CLOSE = "<think>", "</think>"
NO_THINKING = "Okay, I think I have finished thinking."
FORCED_CLOSE = "\n</think>\n\n"
# a hybrid model's non-thinking mode (what `rlvr sft` trains with answer_only_fraction)
EMPTY_BLOCK = f"{OPEN}\n{CLOSE}"
# what `off` and `empty` prefill after the block's opener
PREFILLS = {"off": f"{NO_THINKING}\n{CLOSE}\n\n", "empty": f"{CLOSE}\n\n"}


@dataclass(frozen=True)
class Thinking:
    mode: str = "on"  # on | off | empty | budget
    budget: int = 0

    @classmethod
    def parse(cls, text: str) -> Thinking:
        """'on', 'off', 'empty' or 'budget:N'."""
        if text in ("on", "off", "empty"):
            return cls(text)
        if text.startswith("budget:") and text[7:].isdigit() and int(text[7:]) > 0:
            return cls("budget", int(text[7:]))
        raise ValueError(f"thinking must be 'on', 'off', 'empty' or 'budget:N' (N > 0 tokens), got {text!r}")


def supports_thinking(tokenizer) -> bool:
    template = getattr(tokenizer, "chat_template", None) or ""
    vocab = tokenizer.get_vocab()
    return (OPEN in template or OPEN in vocab) and (CLOSE in template or CLOSE in vocab)


def render(tokenizer, messages: list[dict], thinking: Thinking) -> str:
    """The prompt text for `messages`, with the assistant turn opened per the thinking mode."""
    if not getattr(tokenizer, "chat_template", None):
        if thinking.mode != "on":
            raise ValueError("thinking off/empty/budget needs a chat template with thinking tags; this tokenizer "
                             "has no chat template")
        return "\n".join(m["content"] for m in messages)
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if thinking.mode == "on":
        return text
    if not supports_thinking(tokenizer):
        raise ValueError(f"thinking '{thinking.mode}' needs a chat template with {OPEN}...{CLOSE} tags; "
                         "this model's template has none: use --thinking on")
    opened = text if text.rstrip().endswith(OPEN) else text + f"{OPEN}\n"
    return opened + PREFILLS.get(thinking.mode, "")


def encode_prompt(tokenizer, prompt, thinking: Thinking) -> list[int]:
    """Token ids of a prompt (text: one user message; or messages) rendered per the thinking mode."""
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
    return tokenizer(render(tokenizer, messages, thinking), add_special_tokens=False)["input_ids"]


def skipped_thinking(text: str) -> bool:
    """Whether a completion's thinking block is empty: the model chose to answer without reasoning
    (a hybrid model's non-thinking mode). The block's opener may be in the completion or the prompt."""
    body = text.lstrip()
    if body.startswith(OPEN):
        body = body[len(OPEN):].lstrip()
    return body.startswith(CLOSE)
