"""The health-information check for everything the clinic sends.

The website's guard (:mod:`ketaclinic.website.phi_guard`) was built for text people send *to*
the clinic, where "Do you offer ketamine infusions?" is a question about the service, so it
ignores health words without a personal cue and blanks out service phrases. An outgoing text or
email is addressed to one person, so every health word in it is about that person: "your
ketamine infusion" tells whoever sees the phone's lock screen why the person visits the clinic.
Outgoing text is therefore checked twice: by the website guard as it is (identifiers, dates of
birth, personal statements), and by the same word lists with no context rule and no service
allowlist. Only the clinic's and its locations' own names are blanked first, so a reminder may
name "Riverside Infusion Center". Pure Python: callers pass the names to allow.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass

from ketaclinic.website.phi_guard import DATA_DIR, compile_word_list, default_guard, read_word_list

# Words that name the clinic's treatment. In a message to one person they say that person is
# treated here ("your infusion"), which the word lists alone do not all catch.
TREATMENT_WORDS = ("ketamine", "esketamine", "infusion", "infusions", "iv drip", "dose", "dosing", "titration")


@dataclass(frozen=True)
class OutgoingFinding:
    kind: str
    excerpt: str
    start: int
    end: int


@functools.lru_cache(maxsize=1)
def _strict_lists() -> tuple[tuple[str, re.Pattern[str]], ...]:
    with (DATA_DIR / "patterns.toml").open("rb") as handle:
        word_lists = tomllib.load(handle)["word_lists"]
    lists = [(str(kind), compile_word_list(read_word_list(DATA_DIR / str(name)))) for name, kind in word_lists.items()]
    lists.append(("treatment", compile_word_list(TREATMENT_WORDS)))
    return tuple(lists)


def _mask(text: str, names: Iterable[str]) -> str:
    pattern = compile_word_list(name for name in names if name.strip())
    return pattern.sub(lambda match: " " * len(match.group(0)), text)


def check_outgoing(text: str, *, allowed_names: Iterable[str] = ()) -> tuple[OutgoingFinding, ...]:
    """Every piece of health information in an outgoing body, in order of appearance."""
    findings = [OutgoingFinding(f.kind, f.excerpt, f.start, f.end) for f in default_guard().check(text).findings]
    masked = _mask(text, allowed_names)
    for kind, pattern in _strict_lists():
        for match in pattern.finditer(masked):
            start, end = match.span()
            if all(end <= other.start or start >= other.end for other in findings):
                findings.append(OutgoingFinding(kind, text[start:end][:40], start, end))
    return tuple(sorted(findings, key=lambda f: (f.start, f.end)))
