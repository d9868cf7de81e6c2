from rlvr.rollouts import draw_params
from rlvr.sampling.base import SamplingParams
from rlvr.seeds import stream_seed


def test_every_stream_of_a_run_is_its_own():
    seeds = [stream_seed(7, step, "rollout", d) for step in range(300) for d in range(4)]
    seeds += [stream_seed(7, step, "method", d) for step in range(300) for d in range(1, 40)]  # DARS: many draws
    seeds += [stream_seed(7, 0, "dph-probe"), stream_seed(7, 0, "dph-keep")]
    assert len(set(seeds)) == len(seeds)
    # the collision this replaced: a method's 10th draw took step + 10's first stage-1 stream
    assert 7 * 100_003 + 5 * 101 + 1000 + 10 == stream_seed(7, 15, "rollout", 0) != stream_seed(7, 5, "method", 10)


def test_the_streams_earlier_runs_used_are_kept():
    params = SamplingParams(n=4, temperature=1.0, max_new_tokens=8)
    assert draw_params(params, 4, 3, 12, 2).seed == 3 * 100_003 + 12 * 101 + 2  # stage 1: the main job's
    assert stream_seed(3, 12, "method", 1) == 3 * 100_003 + 12 * 101 + 1001  # Guide's and RGR's extra rollouts
