"""What every local engine shares: prompts to token ids, thinking budgets, stop strings, samples.

An engine that generates from token ids (`generate(prompt_ids, params)`: params.n samples per
prompt, with the sampled tokens' log-probs) gets the rest here, so the torch and vLLM engines
render prompts, cap thinking and cut stop strings the same way.
"""

from __future__ import annotations

from rlvr.sampling.base import Prompt, Sample, SamplingParams
from rlvr.sampling.thinking import CLOSE, FORCED_CLOSE, Thinking, encode_prompt


class TokenSampler:
    """Base of the local engines; subclasses implement `generate`."""

    def __init__(self, tokenizer, thinking: Thinking = Thinking(), eos_ids: set[int] | None = None):
        self.tokenizer = tokenizer
        self.thinking = thinking
        self.eos_ids = {e for e in (eos_ids or {tokenizer.eos_token_id}) if e is not None}

    def generate(self, prompt_ids: list[list[int]], params: SamplingParams) -> list[list[Sample]]:
        raise NotImplementedError

    def encode(self, prompt: Prompt) -> list[int]:
        """Token ids of a prompt: ids pass through; text is one user message; messages are
        rendered with the chat template and the thinking mode."""
        if isinstance(prompt, list) and (not prompt or isinstance(prompt[0], int)):
            return list(prompt)
        return encode_prompt(self.tokenizer, prompt, self.thinking)

    def sample(self, prompts: list[Prompt], params: SamplingParams) -> list[list[Sample]]:
        ids = [self.encode(p) for p in prompts]
        if self.thinking.mode == "budget":
            return self._sample_with_budget(ids, params)
        return self.generate(ids, params)

    def _sample_with_budget(self, ids: list[list[int]], params: SamplingParams) -> list[list[Sample]]:
        think_params = SamplingParams(**{**params.__dict__, "max_new_tokens": self.thinking.budget,
                                         "stop": (CLOSE,)})
        thoughts = self.generate(ids, think_params)
        close_ids = self.tokenizer(FORCED_CLOSE, add_special_tokens=False)["input_ids"]
        continued_prompts, thought_ids, thought_lps = [], [], []
        for prompt_ids, group in zip(ids, thoughts):
            for s in group:
                toks, lps = list(s.token_ids), list(s.logprobs)
                if toks and toks[-1] in self.eos_ids:  # ended without closing: drop EOS, force close
                    toks, lps = toks[:-1], lps[:-1]
                if CLOSE not in self.tokenizer.decode(toks, skip_special_tokens=False):
                    toks, lps = toks + close_ids, lps + [0.0] * len(close_ids)  # forced: not sampled
                thought_ids.append(toks)
                thought_lps.append(lps)
                continued_prompts.append(prompt_ids + toks)
        answer_params = SamplingParams(**{**params.__dict__, "n": 1, "seed": params.seed + 1})
        answers = self.generate(continued_prompts, answer_params)
        out, k = [], 0
        for prompt_ids, group in zip(ids, thoughts):
            merged = []
            for s in group:
                a, toks, lps = answers[k][0], thought_ids[k], thought_lps[k]
                k += 1
                merged.append(Sample(
                    text=self.tokenizer.decode(toks, skip_special_tokens=False) + a.text,
                    token_ids=toks + a.token_ids,
                    logprobs=lps + a.logprobs,
                    finish_reason=a.finish_reason,
                    self_certainty=_mean([x for x in (s.self_certainty, a.self_certainty) if x is not None]),
                    prompt_ids=prompt_ids,
                ))
            out.append(merged)
        return out

    def _hit_stop(self, tail: list[int], stops: tuple[str, ...]) -> bool:
        text = self.tokenizer.decode(tail, skip_special_tokens=False)
        return any(s in text for s in stops)

    def _finish_sample(self, prompt, toks, lps, cert_sum, reason, stops) -> Sample:
        """A Sample from generated tokens: the text without a final EOS and cut before a stop
        string (the tokens keep it: the learner trains on what was sampled)."""
        shown = toks[:-1] if toks and toks[-1] in self.eos_ids else toks
        text = self.tokenizer.decode(shown, skip_special_tokens=False)
        for s in stops:
            if s in text:
                text = text[: text.index(s)]
        certainty = cert_sum / max(len(toks), 1) if cert_sum is not None else None
        return Sample(text=text, token_ids=toks, logprobs=lps, finish_reason=reason, self_certainty=certainty,
                      prompt_ids=prompt)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
