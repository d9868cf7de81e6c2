"""Where the tiny reasoner loses `table_qa`: teacher-forced probabilities of each digit of the
worked solutions on held-out problems, by level and by what the digit does.

Roles: `year` (2023 / 2024 restated), `copied` (a table cell written into the thinking for the
first time: the lookup), `recopied` (a number the thinking already wrote, copied again as an
operand), `result` (a digit after "=": the arithmetic). For level 1 it also splits the first answer
digit's probability between the right cell, the other row's cell in the same column, and the same
row's other column, which separates finding the row from finding the column.

    .venv/bin/python experiments/table_qa_digits.py [--model tiny-reasoner] [--problems 100]
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict

import torch

from rlvr.models import model_path
from rlvr.suites.synthetic import TASKS
from rlvr.train.sft import encode_example


def table_cells(prompt: str) -> dict[str, tuple[str, str]]:
    """item -> (2023 cell, 2024 cell) of the prompt's markdown table."""
    cells = {}
    for line in prompt.splitlines():
        parts = [x.strip() for x in line.strip().strip("|").split("|")]
        if len(parts) == 3 and parts[0] != "item" and parts[1].isdigit():
            cells[parts[0]] = (parts[1], parts[2])
    return cells


def digit_roles(thinking: str, cells: dict[str, tuple[str, str]]) -> list[str]:
    """The role of each digit of `thinking`, in order."""
    values = {v for pair in cells.values() for v in pair}
    roles, written = [], set()
    for line in thinking.splitlines():
        result_from = line.index("=") if "=" in line else len(line)
        for number in re.finditer(r"\d+", line):
            text = number.group()
            role = ("result" if number.start() > result_from else "year" if text in ("2023", "2024")
                    else "recopied" if text in written else "copied" if text in values else "other")
            written.add(text)
            roles += [role] * len(text)
    return roles


def first_digit_shares(probs: torch.Tensor, tokenizer, solution: str, cells: dict) -> dict[str, float]:
    """Level 1 ("ITEM 2024: " then the answer): the probability of the answer's first digit on the
    right cell, on the other row's cell in the same column, and on the same row's other column.
    A digit shared by two cells counts once, for the first of these names."""
    item = solution.split("\n")[1].split(" ")[0]
    other = next(k for k in cells if k != item)
    # probs[j] is the distribution of solution token j: the answer's first digit follows "ITEM 2024: "
    at = len(tokenizer(solution.split(": ")[0] + ": ", add_special_tokens=False)["input_ids"])
    candidates = {"right cell": cells[item][1][0], "other row, same column": cells[other][1][0],
                  "same row, other column": cells[item][0][0]}
    shares, counted = {}, set()
    for name, d in candidates.items():
        shares[name] = 0.0 if d in counted else float(probs[at, tokenizer.convert_tokens_to_ids(d)])
        counted.add(d)
    return shares


@torch.inference_mode()
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="tiny-reasoner")
    parser.add_argument("--problems", type=int, default=100, help="held-out problems per level")
    args = parser.parse_args()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = model_path(args.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    by_role: dict[tuple[int, str], list[float]] = defaultdict(list)
    all_copied: dict[int, list[float]] = defaultdict(list)
    first = defaultdict(float)
    for level in (1, 2, 3):
        for i in range(args.problems):
            problem = TASKS["table_qa"].problem(i, level, seed=0, heldout=True)
            cells = table_cells(problem.prompt)
            solution = problem.meta["solution"]
            ids, labels = encode_example(tokenizer, problem)  # exactly what `rlvr sft` trained on
            prompt_len = labels.count(-100)
            solution_ids = ids[prompt_len:]
            probs = model(torch.tensor([ids])).logits[0, prompt_len - 1: -1].softmax(-1)
            thinking = solution.split("</think>")[0]
            roles = iter(digit_roles(thinking, cells))
            copied = 1.0
            end = solution_ids.index(tokenizer.convert_tokens_to_ids("</think>"))
            for position, token in enumerate(solution_ids[:end]):
                if tokenizer.decode([token]).isdigit():
                    role, p = next(roles), float(probs[position, token])
                    by_role[level, role].append(p)
                    copied *= p if role == "copied" else 1.0
            all_copied[level].append(copied)
            if level == 1:
                for name, share in first_digit_shares(probs, tokenizer, solution, cells).items():
                    first[name] += share / args.problems
    print(f"model {path}, {args.problems} held-out table_qa problems per level, teacher-forced")
    print("| level | role | digits | mean p(digit) |\n|---|---|---|---|")
    for (level, role), ps in sorted(by_role.items()):
        print(f"| {level} | {role} | {len(ps)} | {sum(ps) / len(ps):.3f} |")
    for level, ps in sorted(all_copied.items()):
        print(f"level {level}: p(every copied digit right) = {sum(ps) / len(ps):.3f}")
    print("level 1, the answer's first digit: " + ", ".join(f"{k} {v:.3f}" for k, v in first.items()))


if __name__ == "__main__":
    main()
