"""Benchmark the health-information guard against the labelled contact-form messages.

Run from the repository root: ``python bench/phi_guard.py``.

Prints precision, recall and F1 for the tuning split, the held-out split (the last
HELD_OUT_COUNT lines of the data file, kept out of rule tuning) and all messages, for the guard
and for a naive baseline in the same run. The baseline matches the same word lists anywhere in
the text, plus the same always-on identifier patterns, with no context rules (no personal cues,
no allowlist, no birth-word rule for dates), so the table shows what the context rules buy.
Misclassified messages are listed, then throughput in messages per second.
"""

from __future__ import annotations

import json
import re
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    # Makes the script runnable as a plain file without installing the project.
    sys.path.insert(0, str(REPO_ROOT))

from ketaclinic.website.phi_guard import (  # noqa: E402
    DATA_DIR,
    compile_word_list,
    default_guard,
    read_word_list,
)

LABELLED_PATH = REPO_ROOT / "bench" / "data" / "phi_labelled.jsonl"
HELD_OUT_COUNT = 60
# Enough passes over the set for a stable rate without slowing `make bench`.
THROUGHPUT_PASSES = 20

Classifier = Callable[[str], bool]


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    text: str
    contains_phi: bool
    note: str


@dataclass(frozen=True)
class Scores:
    """Confusion counts for one classifier on one split, with the misclassified messages."""

    n: int
    true_positives: int
    false_positives: tuple[Example, ...]
    false_negatives: tuple[Example, ...]

    @property
    def precision(self) -> float:
        flagged = self.true_positives + len(self.false_positives)
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        positives = self.true_positives + len(self.false_negatives)
        return self.true_positives / positives if positives else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def load_examples(path: Path = LABELLED_PATH) -> list[Example]:
    """Read the labelled set, one JSON object per line."""
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            examples.append(Example(row["text"], bool(row["contains_phi"]), row.get("note", "")))
    return examples


def score(classify: Classifier, examples: Sequence[Example]) -> Scores:
    """Run a classifier over examples and count its hits and misses."""
    true_positives = 0
    false_positives: list[Example] = []
    false_negatives: list[Example] = []
    for example in examples:
        predicted = classify(example.text)
        if predicted and example.contains_phi:
            true_positives += 1
        elif predicted:
            false_positives.append(example)
        elif example.contains_phi:
            false_negatives.append(example)
    return Scores(len(examples), true_positives, tuple(false_positives), tuple(false_negatives))


def build_baseline(data_dir: Path = DATA_DIR) -> Classifier:
    """A keyword-only matcher: any listed word or identifier anywhere flags the message."""
    with (data_dir / "patterns.toml").open("rb") as handle:
        config = tomllib.load(handle)
    words: list[str] = []
    for filename in config["word_lists"]:
        words.extend(read_word_list(data_dir / filename))
    word_pattern = compile_word_list(words)
    identifier_pattern = re.compile(
        "|".join(f"(?:{pattern})" for patterns in config["identifiers"].values() for pattern in patterns),
        re.IGNORECASE,
    )

    def classify(text: str) -> bool:
        return bool(word_pattern.search(text) or identifier_pattern.search(text))

    return classify


def messages_per_second(classify: Classifier, texts: Sequence[str]) -> float:
    """Time THROUGHPUT_PASSES passes over the texts and return the rate."""
    started = time.perf_counter()
    for _ in range(THROUGHPUT_PASSES):
        for text in texts:
            classify(text)
    elapsed = time.perf_counter() - started
    return THROUGHPUT_PASSES * len(texts) / elapsed


def main() -> None:
    """Print the comparison table, the misclassified messages and the throughput."""
    examples = load_examples()
    splits = {
        "tune": examples[:-HELD_OUT_COUNT],
        "held-out": examples[-HELD_OUT_COUNT:],
        "all": examples,
    }
    guard = default_guard()
    classifiers: dict[str, Classifier] = {
        "guard": lambda text: guard.check(text).contains_phi,
        "baseline": build_baseline(),
    }

    print(f"Labelled messages: {LABELLED_PATH.relative_to(REPO_ROOT)}")
    print(f"{'classifier':<10} {'split':<9} {'n':>4} {'precision':>9} {'recall':>7} {'F1':>6}")
    results: dict[tuple[str, str], Scores] = {}
    for name, classify in classifiers.items():
        for split, split_examples in splits.items():
            result = score(classify, split_examples)
            results[name, split] = result
            print(
                f"{name:<10} {split:<9} {result.n:>4} {result.precision:>9.3f} {result.recall:>7.3f} {result.f1:>6.3f}"
            )

    for name in classifiers:
        for split in ("tune", "held-out"):
            result = results[name, split]
            print(f"\n{name} / {split}: false negatives ({len(result.false_negatives)})")
            for example in result.false_negatives:
                print(f"  - {example.text!r}  [{example.note}]")
            print(f"{name} / {split}: false positives ({len(result.false_positives)})")
            for example in result.false_positives:
                print(f"  - {example.text!r}  [{example.note}]")

    texts = [example.text for example in examples]
    print(f"\nThroughput ({THROUGHPUT_PASSES} passes over {len(texts)} messages):")
    for name, classify in classifiers.items():
        print(f"  {name:<10} {messages_per_second(classify, texts):>10,.0f} messages/s")


if __name__ == "__main__":
    main()
