"""The built-in synthetic suite: six domains, three difficulty levels, no downloads.

Each task is a small class (as in reasoning-gym) that makes one Problem from a seeded
`random.Random` and writes a worked solution in the format its verifier expects (for SFT).
Items are deterministic: item i of (task, level, seed) is always the same.

>>> problems = synthetic_suite(per_task=1, levels=(1,), seed=0)
>>> sorted({p.domain for p in problems})
['code', 'logic', 'math', 'science', 'simulation', 'tabular']
"""

from __future__ import annotations

import json
import random
from collections import deque
from typing import ClassVar

from rlvr.problems import Problem

BOXED = "Put the final answer in \\boxed{}."
TAGGED = "Give the final answer inside <answer></answer>."
NAMES = ["Ana", "Ben", "Cai", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo"]


def think(reasoning: str, answer: str) -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


class Task:
    """One kind of problem. Subclasses set `name`, `domain` and implement `make`."""

    name: ClassVar[str]
    domain: ClassVar[str]

    def make(self, rng: random.Random, level: int) -> tuple[dict, str]:
        """-> (problem fields: prompt, answer/tests, ...; worked solution)."""
        raise NotImplementedError

    def problem(self, index: int, level: int, seed: int) -> Problem:
        rng = random.Random(f"{self.name}/{level}/{seed}/{index}")
        fields, solution = self.make(rng, level)
        return Problem(id=f"syn-{self.name}-L{level}-s{seed}-{index}", domain=self.domain, task=self.name,
                       meta={"level": level, "solution": solution, "suite": "synthetic"}, **fields)


class Arithmetic(Task):
    name, domain = "arith", "math"

    def make(self, rng, level):
        terms = [rng.randint(1, 10 ** level) for _ in range(level + 1)]
        ops = [rng.choice("+-*") if level > 1 else rng.choice("+-") for _ in terms[1:]]
        expr = str(terms[0]) + "".join(f" {o} {t}" for o, t in zip(ops, terms[1:]))
        value = eval(expr)  # our own generated integers and operators only
        return ({"prompt": f"Compute {expr}. {BOXED}", "answer": str(value)},
                think(f"{expr} = {value}.", f"The result is \\boxed{{{value}}}."))


class LinearEquation(Task):
    name, domain = "linear", "math"

    def make(self, rng, level):
        x = rng.randint(-5 * level, 5 * level)
        a = rng.choice([v for v in range(-3 * level, 3 * level + 1) if v not in (0,)])
        b = rng.randint(-10 * level, 10 * level)
        c = a * x + b
        return ({"prompt": f"Solve for x: {a}x + {b} = {c}. {BOXED}", "answer": str(x)},
                think(f"{a}x = {c} - {b} = {c - b}, so x = {c - b}/{a} = {x}.", f"\\boxed{{{x}}}"))


class FractionSum(Task):
    name, domain = "fractions", "math"

    def make(self, rng, level):
        from fractions import Fraction

        parts = [Fraction(rng.randint(1, 3 * level), rng.randint(2, 4 + 2 * level)) for _ in range(level + 1)]
        total = sum(parts, Fraction(0))
        shown = " + ".join(f"{p.numerator}/{p.denominator}" for p in parts)
        gold = f"\\frac{{{total.numerator}}}{{{total.denominator}}}" if total.denominator != 1 else str(total.numerator)
        return ({"prompt": f"Compute {shown} as a reduced fraction. {BOXED}", "answer": gold},
                think(f"Common denominator gives {total}.", f"\\boxed{{{gold}}}"))


class WriteFunction(Task):
    name, domain = "write_function", "code"
    OPS: ClassVar = [("adds {k} to x", "x + {k}"), ("multiplies x by {k}", "x * {k}"),
                     ("returns x squared plus {k}", "x * x + {k}"), ("returns the remainder of x divided by {k}",
                                                                     "x % {k}")]

    def make(self, rng, level):
        text, expr = rng.choice(self.OPS[: 2 + level])
        k = rng.randint(2, 9)
        body = expr.format(k=k)
        fn = f"f{rng.randint(100, 999)}"
        cases = [rng.randint(-20, 20) for _ in range(3 + level)]
        asserts = [f"assert {fn}({x}) == {eval(body, {'x': x})}" for x in cases]
        prompt = f"Write a Python function `{fn}(x)` that {text.format(k=k)}. Answer with a ```python code block."
        code = f"def {fn}(x):\n    return {body}\n"
        return ({"prompt": prompt, "tests": {"style": "asserts", "code": asserts}},
                think(f"The function computes {body}.", f"```python\n{code}```"))


class StdinAggregate(Task):
    name, domain = "stdin_aggregate", "code"
    KINDS: ClassVar = {"sum": "sum(nums)", "max": "max(nums)", "min": "min(nums)", "range": "max(nums) - min(nums)"}

    def make(self, rng, level):
        kind = rng.choice(list(self.KINDS)[: 1 + level])
        inputs, outputs = [], []
        for _ in range(2 + level):
            nums = [rng.randint(-50, 50) for _ in range(rng.randint(2, 6))]
            inputs.append(" ".join(map(str, nums)) + "\n")
            outputs.append(f"{eval(self.KINDS[kind], {'nums': nums, 'max': max, 'min': min, 'sum': sum})}\n")
        prompt = (f"Read one line of space-separated integers from standard input and print their {kind}"
                  f"{' (max minus min)' if kind == 'range' else ''}. Answer with a ```python code block.")
        code = f"nums = list(map(int, input().split()))\nprint({self.KINDS[kind]})\n"
        return ({"prompt": prompt, "tests": {"style": "stdio", "inputs": inputs, "outputs": outputs}},
                think(f"Parse the integers and print {self.KINDS[kind]}.", f"```python\n{code}```"))


class PhysicsChoice(Task):
    name, domain = "physics_mc", "science"
    LAWS: ClassVar = [("force", "F = m a", "a {m} kg mass accelerating at {a} m/s^2", "N", lambda m, a: m * a),
                      ("kinetic energy", "E = m v^2 / 2", "a {m} kg mass moving at {a} m/s", "J",
                       lambda m, a: m * a * a / 2),
                      ("momentum", "p = m v", "a {m} kg mass moving at {a} m/s", "kg m/s", lambda m, a: m * a)]

    def make(self, rng, level):
        quantity, law, setup, unit, fn = rng.choice(self.LAWS[:level])
        m, a = rng.randint(1, 5 * level), rng.randint(1, 4 * level)
        right = fn(m, a)
        wrong = {right + d for d in (rng.randint(1, 5), -rng.randint(1, 3), right)} - {right}
        wrong |= {right * 3 + 1}
        options = sorted({right, *list(wrong)[:3]})
        letter = "ABCD"[options.index(right)]
        shown = " ".join(f"({L}) {v:g} {unit}" for L, v in zip("ABCD", options))
        prompt = f"What is the {quantity} of {setup.format(m=m, a=a)}? {shown}. Answer with the letter."
        return ({"prompt": prompt, "answer": letter},
                think(f"{law} = {right:g} {unit}, which is option {letter}.", f"Answer: {letter}"))


class Kinematics(Task):
    name, domain = "kinematics", "science"

    def make(self, rng, level):
        v, t = rng.randint(2, 10 * level), rng.randint(2, 5 * level)
        d = v * t
        return ({"prompt": f"A cart moves at {v} m/s for {t} s. How far does it go, in meters? {BOXED}",
                 "answer": {"value": d, "rtol": 0.01}},
                think(f"d = v t = {v} * {t} = {d} m.", f"\\boxed{{{d} m}}"))


class Ordering(Task):
    name, domain = "ordering", "logic"

    def make(self, rng, level):
        people = rng.sample(NAMES, 2 + level)
        ages = rng.sample(range(10, 60), len(people))
        facts = " ".join(f"{p} is {a}." for p, a in zip(people, ages))
        order = [p for _, p in sorted(zip(ages, people))]
        prompt = f"{facts} List the people from youngest to oldest, comma-separated. {TAGGED}"
        return ({"prompt": prompt, "answer": order},
                think("Sorting by age: " + ", ".join(f"{p} ({a})" for a, p in sorted(zip(ages, people))),
                      f"<answer>{', '.join(order)}</answer>"))


class ShortestPath(Task):
    name, domain = "graph_path", "logic"

    def make(self, rng, level):
        nodes = [chr(65 + i) for i in range(3 + 2 * level)]
        edges = {(nodes[i], nodes[i + 1]) for i in range(len(nodes) - 1)}
        while len(edges) < len(nodes) + level:
            a, b = sorted(rng.sample(nodes, 2))
            edges.add((a, b))
        graph = {n: sorted({b for a, b in edges if a == n} | {a for a, b in edges if b == n}) for n in nodes}
        start, goal = nodes[0], nodes[-1]
        path = _bfs(graph, start, goal)
        listing = "; ".join(f"{a}-{b}" for a, b in sorted(edges))
        prompt = (f"Undirected edges: {listing}. Give a shortest path from {start} to {goal} as nodes "
                  f"separated by ' -> ' (if several, the alphabetically first). {TAGGED}")
        return ({"prompt": prompt, "answer": " -> ".join(path)},
                think(f"Breadth-first search from {start} reaches {goal} in {len(path) - 1} steps.",
                      f"<answer>{' -> '.join(path)}</answer>"))


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
    RULES: ClassVar = {"flip left-right": lambda g: [r[::-1] for r in g], "flip upside-down": lambda g: g[::-1],
                       "transpose": lambda g: [list(r) for r in zip(*g)]}

    def make(self, rng, level):
        rule = rng.choice(list(self.RULES)[: 1 + level])
        size = 2 + level
        grid = [[rng.randint(0, 3) for _ in range(size)] for _ in range(size)]
        out = self.RULES[rule](grid)
        show = "\n".join(" ".join(map(str, r)) for r in grid)
        prompt = f"Apply '{rule}' to this grid:\n{show}\nWrite the result as rows of digits. {TAGGED}"
        answer_rows = "\n".join(" ".join(map(str, r)) for r in out)
        return ({"prompt": prompt, "answer": out},
                think(f"Applying {rule}.", f"<answer>\n{answer_rows}\n</answer>"))


class PredictOutput(Task):
    name, domain = "crux_output", "simulation"
    FUNCS: ClassVar = ["def f(xs):\n    return [x * {k} for x in xs if x % 2 == 0]\n",
                       "def f(xs):\n    return sum(x for x in xs if x > {k})\n",
                       "def f(s):\n    return s[::-1].upper() + str({k})\n",
                       "def f(xs):\n    out = []\n    for x in xs:\n        out.insert(0, x + {k})\n    return out\n"]

    def make(self, rng, level):
        code = rng.choice(self.FUNCS[: 1 + level]).format(k=rng.randint(1, 5))
        arg = repr("".join(rng.choice("abcde") for _ in range(3 + level))) if "s[::-1]" in code else \
            repr([rng.randint(0, 9) for _ in range(2 + level)])
        scope: dict = {}
        exec(code, scope)  # our own generated function
        result = repr(scope["f"](eval(arg)))
        prompt = f"{code}\nWhat does f({arg}) return? Answer as a Python literal in [ANSWER][/ANSWER]."
        return ({"prompt": prompt, "answer": {"style": "cruxeval", "mode": "output", "code": code, "input": arg}},
                think(f"Running f on {arg} step by step gives {result}.", f"[ANSWER]{result}[/ANSWER]"))


class JsonOutput(Task):
    name, domain = "codeio_json", "simulation"

    def make(self, rng, level):
        xs = [rng.randint(0, 20) for _ in range(2 + level)]
        code = "def g(xs):\n    return {'count': len(xs), 'total': sum(xs), 'evens': [x for x in xs if x % 2 == 0]}\n"
        value = {"count": len(xs), "total": sum(xs), "evens": [x for x in xs if x % 2 == 0]}
        prompt = f"{code}\nGive the output of g({xs}) as JSON. {TAGGED}"
        return ({"prompt": prompt, "answer": {"style": "codeio", "value": value}},
                think(f"count {len(xs)}, total {sum(xs)}.", f"<answer>{json.dumps(value)}</answer>"))


class TableQuestion(Task):
    name, domain = "table_qa", "tabular"

    def make(self, rng, level):
        items = rng.sample(["apples", "pears", "plums", "figs", "kiwis", "limes"], 2 + level)
        y1 = [rng.randint(10, 90) * 10 for _ in items]
        y2 = [v + rng.randint(-5, 9) * 10 for v in y1]
        table = "| item | 2023 | 2024 |\n|---|---|---|\n" + "\n".join(
            f"| {i} | {a} | {b} |" for i, a, b in zip(items, y1, y2))
        kind = rng.choice(["total", "change", "percent"][:level])
        j = rng.randrange(len(items))
        if kind == "total":
            q, value, how = "What is the total for 2024?", sum(y2), f"sum = {sum(y2)}"
            gold = str(value)
        elif kind == "change":
            q, value = f"By how much did {items[j]} change from 2023 to 2024?", y2[j] - y1[j]
            how, gold = f"{y2[j]} - {y1[j]} = {value}", str(value)
        else:
            value = round(100 * (y2[j] - y1[j]) / y1[j], 2)
            q, how, gold = f"What was the percent change of {items[j]}?", f"({y2[j]} - {y1[j]}) / {y1[j]}", f"{value}%"
        return ({"prompt": f"{table}\n\n{q} {BOXED}", "answer": gold},
                think(how, f"\\boxed{{{gold}}}"))


TASKS: dict[str, Task] = {t.name: t for t in (Arithmetic(), LinearEquation(), FractionSum(), WriteFunction(),
                                              StdinAggregate(), PhysicsChoice(), Kinematics(), Ordering(),
                                              ShortestPath(), GridTransform(), PredictOutput(), JsonOutput(),
                                              TableQuestion())}
LEVELS = (1, 2, 3)


def synthetic_suite(per_task: int = 10, levels: tuple[int, ...] = LEVELS, seed: int = 0,
                    tasks: list[str] | None = None) -> list[Problem]:
    """`per_task` problems for each task at each level, deterministic in `seed`."""
    unknown = set(tasks or []) - set(TASKS)
    if unknown:
        raise KeyError(f"unknown synthetic tasks {sorted(unknown)}; valid: {sorted(TASKS)}")
    bad_levels = set(levels) - set(LEVELS)
    if bad_levels:
        raise ValueError(f"levels must be among {LEVELS}, got {sorted(bad_levels)}")
    return [TASKS[name].problem(i, level, seed) for name in (tasks or TASKS) for level in levels
            for i in range(per_task)]
