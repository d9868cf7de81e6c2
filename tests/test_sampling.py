import math
from collections import Counter

import pytest
import torch

from rlvr.sampling import prepacked
from rlvr.sampling.base import SamplingParams
from rlvr.sampling.thinking import NO_THINKING, Thinking, render
from rlvr.sampling.torch_backend import BLOCK, TorchSampler, inverse_cdf, nucleus, pick_tokens


@pytest.fixture(scope="module")
def sampler(tiny_model_dir):
    return TorchSampler.from_pretrained(tiny_model_dir, device="cpu", batch_size=8)  # CUDA: tests/test_cuda.py


def reference_logprobs(sampler, prompt_ids, token_ids, params):
    """Independent recomputation: one full forward, then the truncated, tempered distribution."""
    ids = torch.tensor([prompt_ids + token_ids], device=sampler.device)
    with torch.no_grad():
        logits = sampler.model(input_ids=ids).logits[0, len(prompt_ids) - 1 : -1].float()
    out = []
    for pos, tok in enumerate(token_ids):
        z = logits[pos] / params.temperature
        if params.top_k:
            z = torch.where(z >= torch.topk(z, params.top_k).values[-1], z, float("-inf"))
        if params.top_p < 1:
            probs = torch.softmax(z, -1)
            order = torch.argsort(probs, descending=True)
            kept, mass = [], 0.0
            for j in order.tolist():
                kept.append(j)
                mass += probs[j].item()
                if mass > params.top_p:
                    break
            masked = torch.full_like(z, float("-inf"))
            masked[kept] = z[kept]
            z = masked
        out.append(torch.log_softmax(z, -1)[tok].item())
    return out


@pytest.mark.parametrize("params", [
    SamplingParams(n=3, temperature=1.0, max_new_tokens=12, seed=3),
    SamplingParams(n=2, temperature=0.7, top_p=0.8, max_new_tokens=12, seed=4),
    SamplingParams(n=2, temperature=1.3, top_k=20, max_new_tokens=12, seed=5),
])
def test_logprobs_are_exact_for_the_sampling_distribution(sampler, params):
    groups = sampler.sample(["Compute 2 + 3.", [{"role": "user", "content": "Order: Ana, Ben."}]], params)
    assert [len(g) for g in groups] == [params.n, params.n]
    for group in groups:
        for s in group:
            assert len(s.logprobs) == len(s.token_ids) > 0
            ref = reference_logprobs(sampler, s.prompt_ids, s.token_ids, params)
            assert s.logprobs == pytest.approx(ref, abs=2e-4)


def test_same_seed_same_samples_and_different_seed_differs(sampler):
    p = SamplingParams(n=4, max_new_tokens=10, seed=11)
    a = sampler.sample(["hello"], p)[0]
    b = sampler.sample(["hello"], p)[0]
    c = sampler.sample(["hello"], SamplingParams(n=4, max_new_tokens=10, seed=12))[0]
    assert [s.token_ids for s in a] == [s.token_ids for s in b]
    assert [s.token_ids for s in a] != [s.token_ids for s in c]


def test_greedy_matches_transformers_generate(sampler):
    prompts = ["Compute 7 - 2.", "Solve for x: 2x + 1 = 5."]
    ours = sampler.sample(prompts, SamplingParams(n=1, temperature=0, max_new_tokens=16))
    for prompt, group in zip(prompts, ours):
        ids = torch.tensor([sampler.encode(prompt)], device=sampler.device)
        ref = sampler.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=16, do_sample=False,
                                     pad_token_id=sampler.tokenizer.pad_token_id)
        expected = ref[0, ids.shape[1]:].tolist()
        got = group[0].token_ids
        assert got == expected[: len(got)]
        assert len(got) == len(expected) or got[-1] in sampler.eos_ids


def test_stop_strings_and_eos_end_a_sample(sampler):
    free = sampler.sample(["Compute 9 + 9."], SamplingParams(temperature=0, max_new_tokens=24))[0][0]
    assert free.finish_reason == "length" and len(free.token_ids) == 24
    stop = free.text[6:9]
    stopped = sampler.sample(["Compute 9 + 9."], SamplingParams(temperature=0, max_new_tokens=24, stop=(stop,)))[0][0]
    assert stopped.finish_reason == "stop"
    assert stop not in stopped.text and free.text.startswith(stopped.text)
    assert len(stopped.token_ids) < 24
    eos = free.token_ids[4]
    sampler.eos_ids.add(eos)
    try:
        ended = sampler.sample(["Compute 9 + 9."], SamplingParams(temperature=0, max_new_tokens=24))[0][0]
    finally:
        sampler.eos_ids.discard(eos)
    assert ended.finish_reason == "stop" and ended.token_ids[-1] == eos and len(ended.token_ids) <= 5


def test_batch_with_mixed_lengths_frees_finished_rows(sampler):
    # Different prompt lengths (left padding) and early stops in one batch give the same
    # results as sampling each prompt alone (greedy).
    prompts = ["a", "Compute 12 * 3 + 4 - 5 and explain every step carefully."]
    together = sampler.sample(prompts, SamplingParams(temperature=0, max_new_tokens=12))
    alone = [sampler.sample([p], SamplingParams(temperature=0, max_new_tokens=12))[0] for p in prompts]
    assert [g[0].token_ids for g in together] == [g[0].token_ids for g in alone]


def test_pick_tokens_top_k_one_is_greedy():
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]])
    tokens, lps, cert = pick_tokens(logits, SamplingParams(top_k=1), torch.Generator().manual_seed(0))
    assert tokens.tolist() == [1, 0] and lps.tolist() == [0.0, 0.0]
    uniform = pick_tokens(torch.zeros(1, 8), SamplingParams(), torch.Generator().manual_seed(0))
    assert uniform[1].item() == pytest.approx(-math.log(8)) and uniform[2].item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("params", [SamplingParams(), SamplingParams(temperature=0.7, top_p=0.9),
                                    SamplingParams(temperature=1.3, top_k=50)])
def test_pick_tokens_logprobs_are_log_softmax_of_the_filtered_logits(params):
    torch.manual_seed(1)
    logits = torch.randn(64, 5000) * 3  # over BLOCK: the two-level draw
    tokens, lps, _ = pick_tokens(logits, params, torch.Generator().manual_seed(2))
    z = logits / params.temperature
    if params.top_k:
        z = z.masked_fill(z < torch.topk(z, params.top_k, dim=-1).values[:, -1:], float("-inf"))
    if params.top_p < 1.0:
        z = nucleus(z, params.top_p)
    ref = torch.log_softmax(z, dim=-1).gather(-1, tokens[:, None])[:, 0]
    assert bool(torch.isfinite(ref).all())  # no filtered-out token is ever drawn
    assert torch.allclose(lps, ref, atol=1e-5)


@pytest.mark.parametrize("vocab", [3000, 4096])  # a partial last block, and whole blocks only
def test_two_level_inverse_cdf_draws_what_one_float64_cumsum_draws(vocab):
    assert vocab > BLOCK
    torch.manual_seed(0)
    logits = torch.randn(4000, vocab) * 4
    logits[:, 1000:1100] = float("-inf")  # zero probability, across a block boundary (1024)
    probs = torch.softmax(logits, dim=-1)
    got = inverse_cdf(probs, torch.Generator().manual_seed(5))
    u = torch.rand(len(probs), 1, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    cdf = probs.double().cumsum(dim=-1)  # the one-level reference, with the same uniforms
    expected = torch.searchsorted(cdf, u * cdf[:, -1:], right=True)[:, 0]
    assert not bool(((got >= 1000) & (got < 1100)).any())
    assert float((got == expected).float().mean()) > 0.999  # only draws within float32 rounding of a boundary differ


def test_thinking_modes(sampler):
    msgs = [{"role": "user", "content": "hi"}]
    off = render(sampler.tokenizer, msgs, Thinking.parse("off"))
    assert off.endswith(f"<think>\n{NO_THINKING}\n</think>\n\n")
    empty = render(sampler.tokenizer, msgs, Thinking.parse("empty"))
    assert empty == render(sampler.tokenizer, msgs, Thinking()) + "<think>\n</think>\n\n"
    assert render(sampler.tokenizer, msgs, Thinking.parse("budget:8")).endswith("<think>\n")
    sampler.thinking = Thinking.parse("budget:6")
    try:
        out = sampler.sample(["hi"], SamplingParams(n=2, max_new_tokens=5, seed=2))[0]
    finally:
        sampler.thinking = Thinking()
    close_id = sampler.tokenizer.convert_tokens_to_ids("</think>")
    for s in out:
        assert "</think>" in s.text and close_id in s.token_ids
        assert s.token_ids.index(close_id) <= 6 + 1  # at most the budget, then "\n</think>"
        assert len(s.logprobs) == len(s.token_ids)
        after_close = len(sampler.tokenizer("\n\n", add_special_tokens=False)["input_ids"])
        assert len(s.token_ids) - s.token_ids.index(close_id) - 1 <= 5 + after_close  # the answer budget
    for bad in ("maybe", "budget:0", "budget:x"):
        with pytest.raises(ValueError, match="budget:N"):
            Thinking.parse(bad)


def test_thinking_off_fails_clearly_without_thinking_tags(sampler):
    class NoTags:
        chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"

        def apply_chat_template(self, messages, **kw):
            return messages[0]["content"]

        def get_vocab(self):
            return {"a": 0}

    with pytest.raises(ValueError, match="thinking tags|--thinking on"):
        render(NoTags(), [{"role": "user", "content": "x"}], Thinking.parse("off"))
    with pytest.raises(ValueError, match="thinking tags|--thinking on"):
        render(NoTags(), [{"role": "user", "content": "x"}], Thinking.parse("empty"))


def test_missing_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TorchSampler.from_pretrained(tmp_path / "nope")


@pytest.mark.parametrize("kv_heads", [4, 2])  # 2: grouped-query attention (two heads per KV head)
def test_shared_prompt_cache_gives_the_plain_cache_samples(tiny_model_dir, kv_heads):
    # The prompt's keys/values read once per prompt (shared_prefix.py) must give the samples and
    # log-probs of the plain cache, with left padding, rows finishing early and leaving the batch.
    from transformers import AutoTokenizer

    from rlvr.models.tiny import build_model
    from rlvr.sampling import shared_prefix

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = build_model(tokenizer, hidden=32, layers=2, heads=4, num_key_value_heads=kv_heads, seed=1).eval()
    assert shared_prefix.supported(model)
    prompts = ["a", "Compute 12 * 3 + 4 - 5 and explain every step carefully.", "Order: Ana, Ben."]
    params = SamplingParams(n=3, temperature=1.0, max_new_tokens=20, seed=7)
    runs = {}
    for share in (False, True):
        sampler = TorchSampler(model, tokenizer, batch_size=9, share_prompt_cache=share)
        common = Counter(t for g in sampler.sample(prompts, params) for s in g for t in s.token_ids).most_common(1)
        sampler.eos_ids.add(common[0][0])  # a frequent token ends samples at different steps
        runs[share] = sampler.sample(prompts, params)
    plain, shared = ([s for g in runs[k] for s in g] for k in (False, True))
    assert [s.token_ids for s in shared] == [s.token_ids for s in plain]
    assert len({len(s.token_ids) for s in plain}) > 2  # rows did finish at different steps
    for a, b in zip(shared, plain):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-5)


def test_shared_prompt_cache_refuses_sliding_window_models(tiny_model_dir):
    from transformers import AutoTokenizer

    from rlvr.models.tiny import build_model
    from rlvr.sampling import shared_prefix

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = build_model(tokenizer, hidden=32, layers=2, heads=2, use_sliding_window=True, sliding_window=4,
                        max_window_layers=0).eval()
    assert not shared_prefix.supported(model)
    assert model.config._attn_implementation != shared_prefix.NAME  # restored after the check
    sampler = TorchSampler(model, tokenizer)
    sampler.sample(["Compute 2 + 3."], SamplingParams(n=2, max_new_tokens=4))
    assert sampler.share_prompt_cache is False


def test_a_forward_during_shared_prefix_decoding_is_a_clear_error_and_attention_is_restored(tiny_model_dir):
    # During the decode loop the model's attention implementation is switched; a forward from
    # elsewhere (another thread, say) gets a clear error rather than attention without its padding
    # mask, and the model's own attention is back afterwards.
    from transformers import AutoModelForCausalLM

    from rlvr.sampling import shared_prefix

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    ids = torch.tensor([[5, 9, 14, 3, 7]])
    with torch.inference_mode():
        expected = model(input_ids=ids).logits
        with shared_prefix.decoding_with_shared_prefix(model), pytest.raises(RuntimeError, match="after sampling"):
            model(input_ids=ids)
        assert torch.equal(model(input_ids=ids).logits, expected)


@pytest.mark.skipif(not prepacked.available(), reason="this PyTorch has no oneDNN packed linear kernels")
def test_prepacked_linears_give_the_layers_outputs_follow_weight_changes_and_restore_the_layers():
    from rlvr.sampling.prepacked import PrepackedLinears

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(24, 40), torch.nn.ReLU(), torch.nn.Linear(40, 8, bias=False))
    packed = PrepackedLinears(net, min_elements=0)
    assert len(packed.layers) == 2 and PrepackedLinears(net).layers == []  # small layers stay as they are
    assert PrepackedLinears(net, min_elements=0, max_bytes=24 * 40 * 4).layers == [net[0]]  # copies that fit
    x = torch.randn(3, 5, 24)
    with torch.inference_mode():
        expected = net(x)
        with packed.active(), packed.active():  # re-entrant
            assert "forward" in net[0].__dict__
            assert torch.allclose(net(x), expected, atol=1e-5)
        assert "forward" not in net[0].__dict__ and "forward" not in net[2].__dict__
    for update in (lambda w: w.add_(0.5), lambda w: w.data.copy_(w + 0.5)):  # .data: no version bump
        with torch.no_grad():
            update(net[0].weight)  # an optimizer step between sampling calls
            changed = torch.relu(x @ net[0].weight.T + net[0].bias) @ net[2].weight.T
        with torch.inference_mode(), packed.active():
            assert torch.allclose(net(x), changed, atol=1e-4)
    with packed.active():
        assert net(x).requires_grad  # recording gradients: the layers' own forward


@pytest.mark.skipif(not prepacked.available(), reason="this PyTorch has no oneDNN packed linear kernels")
def test_sampling_with_packed_linears_gives_the_same_samples(tiny_model_dir):
    from transformers import AutoTokenizer

    from rlvr.models.tiny import build_model

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = build_model(tokenizer, hidden=512, layers=1, heads=4, seed=2).eval()  # 512 x 512 layers: packed
    params = SamplingParams(n=4, temperature=1.0, max_new_tokens=12, seed=9)
    runs = {}
    for packed in (False, True):
        sampler = TorchSampler(model, tokenizer, batch_size=8, prepack_linears=packed)
        runs[packed] = [s for g in sampler.sample(["Compute 2 + 3.", "Order: Ana, Ben."], params) for s in g]
    assert len(sampler.prepacked.layers) == 8  # q, k, v, o, gate, up, down, LM head
    assert [s.token_ids for s in runs[True]] == [s.token_ids for s in runs[False]]
    for a, b in zip(runs[True], runs[False]):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
    assert not any("forward" in m.__dict__ for m in model.modules())  # the model is its own again


def test_available_memory_respects_a_container_limit(tmp_path, monkeypatch):
    # The packed copies' budget: a cgroup limit below the machine's free memory wins.
    limit, usage = tmp_path / "memory.max", tmp_path / "memory.current"
    monkeypatch.setattr(prepacked, "CGROUP_MEMORY", ((str(limit), str(usage)),))
    limit.write_text("max\n")
    usage.write_text("100\n")
    unlimited = prepacked.available_memory()
    assert unlimited > 2**20
    limit.write_text(f"{2**20 + 100}\n")
    assert prepacked.available_memory() == 2**20
    usage.write_text(f"{2**21}\n")
    assert prepacked.available_memory() == 0  # over the limit already: nothing to spare


def test_the_training_loop_gets_its_rollout_engine_by_name(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlvr.sampling import training_sampler

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    engine = training_sampler("torch", model, tokenizer, 8, prepack_linears=False)
    assert engine.batch_size == 8 and engine.device.type == "cpu" and engine.encode("1+1?")
    with pytest.raises(KeyError, match="unknown rollout engine 'nope'; valid: torch"):
        training_sampler("nope", model, tokenizer, 8)
