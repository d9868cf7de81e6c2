"""The built-in synthetic suite: six domains, three difficulty levels, no downloads.

Each task is a small class (as in reasoning-gym) that makes one Problem from a seeded
`random.Random`. Items are deterministic: item i of (task, level, seed) is always the same.
Numbers stay small and every worked solution first restates what it uses from the prompt,
then takes one small step per line: a model of a few million parameters can learn to follow
it, and the levels grade how many steps there are.

Each problem carries what the trainer's methods need:
- `hint`: the first step, for Guide;
- `teachers`: the same steps written in another style ("Step 1: ..."), a teacher solution for AMPO;
- `meta.solution`: the worked solution (thinking block, then the answer in the verifier's format), for SFT;
- `meta.rubric`: the intermediate results as rubric criteria (rlvr.domains.rubric), for RGR-GRPO
  (in `meta`, not `rubric`, so that only RGR-GRPO scores with it).

>>> problems = synthetic_suite(per_task=1, levels=(1,), seed=0)
>>> sorted({p.domain for p in problems})
['code', 'logic', 'math', 'science', 'simulation', 'tabular']
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import ClassVar

from rlvr.problems import Problem

BOXED = "Put the final answer in \\boxed{}."
TAGGED = "Give the final answer inside <answer></answer>."
NAMES = ["Ana", "Ben", "Cai", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo"]


def think(reasoning: str, answer: str) -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


@dataclass
class Made:
    """One generated problem: its fields, the solution steps, the final answer text, and the
    intermediate results a correct solution passes through (rubric criteria)."""

    fields: dict
    steps: list[str]
    final: str
    intermediates: list[str] = field(default_factory=list)


class Task:
    """One kind of problem. Subclasses set `name`, `domain` and implement `make`."""

    name: ClassVar[str]
    domain: ClassVar[str]

    def make(self, rng: random.Random, level: int) -> Made:
        raise NotImplementedError

    def make_version(self, rng: random.Random, level: int, version: int) -> Made:
        """`make` as the suite's `version` made it; a task whose problems changed overrides this."""
        return self.make(rng, level)

    def problem(self, index: int, level: int, seed: int, heldout: bool = False, version: int | None = None) -> Problem:
        rng = random.Random(f"{self.name}/{level}/{seed}/{index}")
        version = VERSION if version is None else version
        made = self.make_version(rng, level, version)
        while in_heldout_split(made.fields["prompt"]) != heldout:  # ~1 in 5 prompts is held out
            made = self.make_version(rng, level, version)
        rubric = [{"id": f"step{i + 1}", "kind": "contains", "value": v, "case_sensitive": True,
                   "description": f"reaches the intermediate result {v}"} for i, v in enumerate(made.intermediates)]
        meta = {"level": level, "suite": "synthetic", "solution": think("\n".join(made.steps), made.final),
                "rubric": rubric}
        teacher = think(" ".join(f"Step {i + 1}: {s}" for i, s in enumerate(made.steps)), made.final)
        split = "-heldout" if heldout else ""
        return Problem(id=f"syn-{self.name}-L{level}-s{seed}-{index}{split}", domain=self.domain, task=self.name,
                       hint=f"Hint: {made.steps[0]}", teachers=[teacher], meta=meta, **made.fields)


# The suite's version, raised whenever some (task, level, seed, index) yields another problem, so
# that a recipe names the data it was trained on and a rebuild draws the same data.
VERSIONS = {1: "the first suite (tiny reasoner stages 1-7)",
            2: "physics_mc: the right option at a uniformly drawn position (it was B or A; stage 8 on)"}
VERSION = max(VERSIONS)


def in_heldout_split(prompt: str) -> bool:
    """A fixed split of the prompt space: training problems never have a held-out prompt, for
    any seed, so `synthetic-heldout` stays clean however much training data is drawn."""
    return hashlib.sha256(prompt.encode()).digest()[0] % 5 == 0


def chain(terms: list[int], ops: list[str]) -> tuple[list[str], int]:
    """Left-to-right evaluation, one operation per line."""
    steps, value = [], terms[0]
    for op, t in zip(ops, terms[1:]):
        new = value + t if op == "+" else value - t if op == "-" else value * t
        steps.append(f"{value} {op} {t} = {new}")
        value = new
    return steps, value


class Arithmetic(Task):
    name, domain = "arith", "math"

    def make(self, rng, level):
        top = {1: 20, 2: 60, 3: 30}[level]
        terms = [rng.randint(1, top) for _ in range(2 if level < 3 else 3)]
        ops = [rng.choice("+-") for _ in terms[1:]]
        expr = str(terms[0]) + "".join(f" {o} {t}" for o, t in zip(ops, terms[1:]))
        steps, value = chain(terms, ops)
        return Made({"prompt": f"Compute {expr}. {BOXED}", "answer": str(value)}, steps,
                    f"The result is \\boxed{{{value}}}.", [s[s.index("="):] for s in steps])


class LinearEquation(Task):
    name, domain = "linear", "math"

    def make(self, rng, level):
        x = rng.randint(1, 9) if level < 3 else rng.randint(-9, 9)
        a = 1 if level == 1 else rng.randint(2, 5)
        b = rng.randint(1, 20)
        c = a * x + b
        lhs = "x" if a == 1 else f"{a}x"
        steps = [f"{lhs} + {b} = {c}", f"{lhs} = {c} - {b} = {c - b}"]
        if a != 1:
            steps.append(f"x = {c - b} / {a} = {x}")
        return Made({"prompt": f"Solve for x: {lhs} + {b} = {c}. {BOXED}", "answer": str(x)}, steps,
                    f"\\boxed{{{x}}}", [str(c - b), str(x)])


def latex_fraction(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"\\frac{{{f.numerator}}}{{{f.denominator}}}"


class FractionSum(Task):
    name, domain = "fractions", "math"

    def make(self, rng, level):
        d1 = rng.randint(2, 9)
        d2 = d1 if level == 1 else d1 * rng.randint(2, 3) if level == 2 else rng.randint(2, 9)
        n1, n2 = rng.randint(1, d1), rng.randint(1, d2)
        common = d1 * d2 // math.gcd(d1, d2)
        a, b = n1 * common // d1, n2 * common // d2
        total = Fraction(a + b, common)
        steps = [f"common denominator {common}",
                 f"{n1}/{d1} + {n2}/{d2} = {a}/{common} + {b}/{common} = {a + b}/{common}",
                 f"{a + b}/{common} = {total}"]
        gold = latex_fraction(total)
        return Made({"prompt": f"Compute {n1}/{d1} + {n2}/{d2} as a reduced fraction. {BOXED}", "answer": gold},
                    steps, f"\\boxed{{{gold}}}", [f"{a + b}/{common}", str(total)])


class WriteFunction(Task):
    name, domain = "write_function", "code"
    OPS: ClassVar = [("adds {k} to x", "x + {k}"), ("multiplies x by {k}", "x * {k}"),
                     ("subtracts {k} from x", "x - {k}"), ("returns x squared plus {k}", "x * x + {k}"),
                     ("returns the remainder of x divided by {k}", "x % {k}")]

    def make(self, rng, level):
        text, expr = rng.choice(self.OPS[: 1 + level + (level == 3)])
        k = rng.randint(2, 9)
        body = expr.format(k=k)
        fn = f"f{rng.randint(1, 99)}"
        cases = [rng.randint(-20, 20) for _ in range(3 + level)]
        asserts = [f"assert {fn}({x}) == {eval(body, {'x': x})}" for x in cases]
        prompt = f"Write a Python function `{fn}(x)` that {text.format(k=k)}. Answer with a ```python code block."
        code = f"def {fn}(x):\n    return {body}\n"
        return Made({"prompt": prompt, "tests": {"style": "asserts", "code": asserts}},
                    [f"name {fn}", f"it {text.format(k=k)}: {body}"], f"```python\n{code}```", [body])


class StdinAggregate(Task):
    name, domain = "stdin_aggregate", "code"
    KINDS: ClassVar = {"sum": "sum(nums)", "max": "max(nums)", "min": "min(nums)", "range": "max(nums) - min(nums)"}

    def make(self, rng, level):
        kind = rng.choice(list(self.KINDS)[: 1 + level])
        k = rng.randint(2, 99)
        expr = f"{self.KINDS[kind]} + {k}"
        inputs, outputs = [], []
        for _ in range(2 + level):
            nums = [rng.randint(-50, 50) for _ in range(rng.randint(2, 6))]
            inputs.append(" ".join(map(str, nums)) + "\n")
            outputs.append(f"{eval(expr, {'nums': nums, 'max': max, 'min': min, 'sum': sum})}\n")
        prompt = (f"Read one line of space-separated integers from standard input and print their {kind}"
                  f"{' (max minus min)' if kind == 'range' else ''} plus {k}. Answer with a ```python code block.")
        code = f"nums = list(map(int, input().split()))\nprint({expr})\n"
        return Made({"prompt": prompt, "tests": {"style": "stdio", "inputs": inputs, "outputs": outputs}},
                    [f"parse the integers, print {kind} plus {k}: {expr}"], f"```python\n{code}```", [expr])


def choice_options(rng: random.Random, right: int) -> list[int]:
    """Four positive options in increasing order, each within 5 of the right one, which sits at a
    uniformly drawn position (among those that leave room for smaller positive options): the
    letter alone tells nothing, so the model has to compute."""
    below = rng.choice([r for r in range(4) if r <= right - 1])
    lower = rng.sample(range(max(1, right - 5), right), below)
    higher = rng.sample(range(right + 1, right + 6), 3 - below)
    return sorted([*lower, right, *higher])


def first_choice_options(rng: random.Random, right: int) -> list[int]:
    """Version 1's options: the right one was B in 76% of problems and A in the rest."""
    wrong = {right + rng.randint(1, 5), right + 10, abs(right - rng.randint(1, 4)) + 1} - {right}
    return sorted({right, *sorted(wrong)[:3]})


class PhysicsChoice(Task):
    name, domain = "physics_mc", "science"
    LAWS: ClassVar = [("force", "F = m a", "a {m} kg mass accelerating at {a} m/s^2", "N", lambda m, a: m * a),
                      ("momentum", "p = m v", "a {m} kg mass moving at {a} m/s", "kg m/s", lambda m, a: m * a),
                      ("weight", "W = m g", "a {m} kg mass where g is {a} m/s^2", "N", lambda m, a: m * a)]

    def make(self, rng, level):
        return self.make_version(rng, level, VERSION)

    def make_version(self, rng, level, version):
        quantity, law, setup, unit, fn = rng.choice(self.LAWS[:level])
        m, a = rng.randint(1, 5 + 3 * level), rng.randint(1, 4 + 3 * level)
        right = fn(m, a)
        options = choice_options(rng, right) if version >= 2 else first_choice_options(rng, right)
        letter = "ABCD"[options.index(right)]
        shown = " ".join(f"({L}) {v} {unit}" for L, v in zip("ABCD", options))
        prompt = f"What is the {quantity} of {setup.format(m=m, a=a)}? {shown}. Answer with the letter."
        steps = [f"{law}", f"{m} * {a} = {right} {unit}", f"{right} {unit} is option {letter}"]
        return Made({"prompt": prompt, "answer": letter}, steps, f"Answer: {letter}", [f"= {right}"])


class Kinematics(Task):
    name, domain = "kinematics", "science"

    def make(self, rng, level):
        v, t = rng.randint(2, 5 + 5 * level), rng.randint(2, 4 + 2 * level)
        d = v * t
        return Made({"prompt": f"A cart moves at {v} m/s for {t} s. How far does it go, in meters? {BOXED}",
                     "answer": {"value": d, "rtol": 0.01}},
                    ["d = v t", f"d = {v} * {t} = {d} m"], f"\\boxed{{{d}}}", [f"= {d}"])


class Ordering(Task):
    name, domain = "ordering", "logic"

    def make(self, rng, level):
        people = rng.sample(NAMES, 1 + level)
        ages = rng.sample(range(10, 60), len(people))
        facts = " ".join(f"{p} is {a}." for p, a in zip(people, ages))
        ranked = sorted(zip(ages, people))
        order = [p for _, p in ranked]
        prompt = f"{facts} List the people from youngest to oldest, comma-separated. {TAGGED}"
        steps = ["ages: " + ", ".join(f"{p} {a}" for p, a in zip(people, ages)),
                 "sorted: " + ", ".join(f"{p} {a}" for a, p in ranked)]
        return Made({"prompt": prompt, "answer": order}, steps, f"<answer>{', '.join(order)}</answer>",
                    [f"{order[0]} {ranked[0][0]}"])


class ShortestPath(Task):
    name, domain = "graph_path", "logic"

    def make(self, rng, level):
        nodes = [chr(65 + i) for i in range(3 + level)]
        edges = {(nodes[i], nodes[i + 1]) for i in range(len(nodes) - 1)}
        while len(edges) < len(nodes) - 1 + level:
            a, b = sorted(rng.sample(nodes, 2))
            edges.add((a, b))
        graph = {n: sorted({b for a, b in edges if a == n} | {a for a, b in edges if b == n}) for n in nodes}
        start, goal = nodes[0], nodes[-1]
        path = _bfs(graph, start, goal)
        listing = "; ".join(f"{a}-{b}" for a, b in sorted(edges))
        prompt = (f"Undirected edges: {listing}. Give a shortest path from {start} to {goal} as nodes "
                  f"separated by ' -> ' (if several, the alphabetically first). {TAGGED}")
        steps = [f"{n}: {', '.join(graph[n])}" for n in nodes] + [f"path: {' -> '.join(path)}"]
        return Made({"prompt": prompt, "answer": " -> ".join(path)}, steps,
                    f"<answer>{' -> '.join(path)}</answer>", [f"{start}: {', '.join(graph[start])}"])


def _bfs(graph: dict[str, list[str]], start: str, goal: str) -> list[str]:
    """Shortest path; neighbours visited in alphabetical order, so the first found is the
    alphabetically first among the shortest."""
    queue, seen = deque([[start]]), {start}
    while queue:
        path = queue.popleft()
        if path[-1] == goal:
            return path
        for nxt in graph[path[-1]]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(path + [nxt])
    raise ValueError("graph is connected by construction")


class GridTransform(Task):
    name, domain = "grid", "logic"
    RULES: ClassVar = {"flip upside-down": lambda g: g[::-1], "flip left-right": lambda g: [r[::-1] for r in g],
                       "transpose": lambda g: [list(r) for r in zip(*g)]}

    def make(self, rng, level):
        rule = rng.choice(list(self.RULES)[:level])
        size = 2 if level < 3 else 3
        grid = [[rng.randint(0, 9) for _ in range(size)] for _ in range(size)]
        out = self.RULES[rule](grid)
        rows = ["row {}: {}".format(i + 1, " ".join(map(str, r))) for i, r in enumerate(grid)]
        show = "\n".join(" ".join(map(str, r)) for r in grid)
        prompt = f"Apply '{rule}' to this grid:\n{show}\nWrite the result as rows of digits. {TAGGED}"
        answer_rows = "\n".join(" ".join(map(str, r)) for r in out)
        return Made({"prompt": prompt, "answer": out}, [*rows, f"{rule}:", answer_rows],
                    f"<answer>\n{answer_rows}\n</answer>", [" ".join(map(str, out[0]))])


class PredictOutput(Task):
    name, domain = "crux_output", "simulation"
    FUNCS: ClassVar = ["def f(xs):\n    return [x + {k} for x in xs]\n",
                       "def f(xs):\n    return [x * {k} for x in xs if x % 2 == 0]\n",
                       "def f(xs):\n    return sum(x for x in xs if x > {k})\n"]

    def make(self, rng, level):
        k = rng.randint(1, 5)
        code = self.FUNCS[level - 1].format(k=k)
        xs = [rng.randint(0, 9) for _ in range(2 + level)]
        scope: dict = {}
        exec(code, scope)  # our own generated function
        result = repr(scope["f"](xs))
        if level == 1:
            steps = [f"xs = {xs}", "add {}: {}".format(k, ", ".join(f"{x} + {k} = {x + k}" for x in xs))]
        elif level == 2:
            evens = [x for x in xs if x % 2 == 0]
            steps = [f"xs = {xs}", f"even: {evens}", f"times {k}: {result}"]
        else:
            kept = [x for x in xs if x > k]
            steps = [f"xs = {xs}", f"greater than {k}: {kept}", f"sum = {result}"]
        prompt = f"{code}\nWhat does f({xs}) return? Answer as a Python literal in [ANSWER][/ANSWER]."
        return Made({"prompt": prompt, "answer": {"style": "cruxeval", "mode": "output", "code": code,
                                                  "input": repr(xs)}},
                    steps, f"[ANSWER]{result}[/ANSWER]", [result])


class JsonOutput(Task):
    name, domain = "codeio_json", "simulation"

    def make(self, rng, level):
        xs = [rng.randint(0, 20) for _ in range(1 + level)]
        code = "def g(xs):\n    return {'count': len(xs), 'total': sum(xs)}\n"
        value = {"count": len(xs), "total": sum(xs)}
        sums, running = [], xs[0]
        for x in xs[1:]:
            sums.append(f"{running} + {x} = {running + x}")
            running += x
        steps = [f"xs = {xs}", f"count {len(xs)}", "total: " + ("; ".join(sums) or str(xs[0]))]
        prompt = f"{code}\nGive the output of g({xs}) as JSON. {TAGGED}"
        return Made({"prompt": prompt, "answer": {"style": "codeio", "value": value}}, steps,
                    f"<answer>{json.dumps(value)}</answer>", [str(sum(xs))])


class TableQuestion(Task):
    name, domain = "table_qa", "tabular"

    def make(self, rng, level):
        items = rng.sample(["apples", "pears", "plums", "figs", "kiwis", "limes"], 2 + level // 2)
        y1 = [rng.randint(10, 60) for _ in items]
        y2 = [v + rng.randint(-9, 19) for v in y1]
        table = "| item | 2023 | 2024 |\n|---|---|---|\n" + "\n".join(
            f"| {i} | {a} | {b} |" for i, a, b in zip(items, y1, y2))
        j = rng.randrange(len(items))
        if level == 1:
            q, value = f"How many {items[j]} were there in 2024?", y2[j]
            steps = [f"{items[j]} 2024: {y2[j]}"]
        elif level == 2:
            q, value = f"By how much did {items[j]} change from 2023 to 2024?", y2[j] - y1[j]
            steps = [f"{items[j]}: 2023 {y1[j]}, 2024 {y2[j]}", f"{y2[j]} - {y1[j]} = {value}"]
        else:
            q, value = "What is the total for 2024?", sum(y2)
            steps = ["2024: " + ", ".join(map(str, y2)), *chain(y2, ["+"] * (len(y2) - 1))[0]]
        return Made({"prompt": f"{table}\n\n{q} {BOXED}", "answer": str(value)}, steps,
                    f"\\boxed{{{value}}}", [str(value)])


TASKS: dict[str, Task] = {t.name: t for t in (Arithmetic(), LinearEquation(), FractionSum(), WriteFunction(),
                                              StdinAggregate(), PhysicsChoice(), Kinematics(), Ordering(),
                                              ShortestPath(), GridTransform(), PredictOutput(), JsonOutput(),
                                              TableQuestion())}
LEVELS = (1, 2, 3)


def synthetic_suite(per_task: int = 10, levels: tuple[int, ...] = LEVELS, seed: int = 0,
                    tasks: list[str] | None = None, heldout: bool = False, version: int | None = None) -> list[Problem]:
    """`per_task` problems for each task at each level, deterministic in `seed`, from the
    training split of the prompt space (or the held-out split), as suite `version` (default: the
    newest) draws them."""
    version = VERSION if version is None else version
    if version not in VERSIONS:
        raise ValueError(f"synthetic suite version must be one of {sorted(VERSIONS)}, got {version}")
    unknown = set(tasks or []) - set(TASKS)
    if unknown:
        raise KeyError(f"unknown synthetic tasks {sorted(unknown)}; valid: {sorted(TASKS)}")
    bad_levels = set(levels) - set(LEVELS)
    if bad_levels:
        raise ValueError(f"levels must be among {LEVELS}, got {sorted(bad_levels)}")
    return [TASKS[name].problem(i, level, seed, heldout, version) for name in (tasks or TASKS) for level in levels
            for i in range(per_task)]
