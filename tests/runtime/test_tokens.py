"""Token counts remembered between compiles are the counts of the text as it is now."""

from __future__ import annotations

from cuecard.runtime.compile import compile_snapshot, render_block
from cuecard.runtime.tokens import RememberedCounts, count_tokens
from tests.runtime.test_compile import snapshot, training

TEXTS = [
    "",
    "Greet the caller.",
    "Répondez en français, s'il vous plaît : « merci » ✓",
    "<|endoftext|> is plain text here",
    "emoji 🙂🙂 and\nnew\tlines",
    "word " * 2_000,
]


def test_remembered_counts_are_the_counts() -> None:
    remembered = RememberedCounts(100)
    for _ in range(2):  # counted, then remembered
        assert [remembered(t) for t in TEXTS] == [count_tokens(t) for t in TEXTS]


def test_the_least_recently_used_text_is_forgotten_first_and_counted_again() -> None:
    remembered = RememberedCounts(3)
    first, second, third, fourth = TEXTS[1:5]
    for text in (first, second, third):
        remembered(text)
    remembered(first)  # used again: `second` is now the oldest
    assert remembered(fourth) == count_tokens(fourth)
    assert len(remembered) == 3
    assert [remembered(t) for t in (first, second, third, fourth)] == [
        count_tokens(t) for t in (first, second, third, fourth)
    ]
    assert len(remembered) == 3


def test_a_compile_after_a_change_counts_the_changed_training_anew() -> None:
    trainings = [training(n) for n in range(1, 6)]
    before = compile_snapshot(snapshot(trainings))
    trainings[2] = {**trainings[2], "instructions": "A much longer instruction now. " * 40}
    after = compile_snapshot(snapshot(trainings))

    def exact(t: dict[str, object]) -> int:
        return count_tokens(render_block(str(t["subject"]), str(t["instructions"])))

    assert [b.tokens for b in after.system_blocks] == [exact(t) for t in trainings]
    assert after.native["budget"]["active_tokens"] == sum(exact(t) for t in trainings)
    assert after.native["budget"]["active_tokens"] > before.native["budget"]["active_tokens"]
