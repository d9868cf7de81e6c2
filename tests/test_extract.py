import pytest

from rlvr.extract import code_block, extract_answer, last_boxed, strip_thinking


def test_thinking_is_stripped_and_unfinished_thinking_has_no_answer():
    assert strip_thinking("<think>\\boxed{1}</think>\\boxed{2}") == "\\boxed{2}"
    assert extract_answer("<think>so \\boxed{1}</think> final \\boxed{2}") == "2"
    assert extract_answer("<think>still going \\boxed{1}") is None


def test_last_boxed_handles_nested_braces_and_fbox():
    assert last_boxed("\\boxed{1} then \\boxed{\\frac{1}{\\sqrt{2}}}") == "\\frac{1}{\\sqrt{2}}"
    assert last_boxed("\\fbox{7}") == "7"
    assert last_boxed("\\boxed{\\frac{1}{2}") is None  # unbalanced


@pytest.mark.parametrize(
    "text, expected",
    [
        ("blah <answer> 42 </answer>", "42"),
        ("work...\nAnswer: 17.", "17"),
        ("work...\n**Final Answer:** x = 3", "x = 3"),
        ("So the answer is 12.", "12"),
        ("nothing here", None),
    ],
)
def test_auto_rules(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    "text, letter",
    [
        ("\\boxed{B}", "B"),
        ("Answer: (C)", "C"),
        ("The answer is (D).", "D"),
        ("A. because", "A"),
        ("\\boxed{\\text{J}}", "J"),
        ("I think it is unclear", None),
    ],
)
def test_choice_letters(text, letter):
    assert extract_answer(text, "choice") == letter


def test_code_block_takes_the_last_fence():
    text = "```python\nx = 1\n```\nbetter:\n```py\nx = 2\n```"
    assert code_block(text) == "x = 2\n"
    assert extract_answer("<think>```python\nbad\n```</think>no code", "code") is None


def test_unknown_method_names_the_valid_ones():
    with pytest.raises(ValueError, match="boxed"):
        extract_answer("x", "nope")
