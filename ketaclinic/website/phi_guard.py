"""Health-information guard for free text the clinic receives or sends.

The public contact form and every outgoing SMS or email are not secure channels, so text on
them must not carry protected health information (PHI): a diagnosis, a symptom or a medicine
tied to a person, a date of birth, a Social Security number, a medical record number or an
insurance member number. This module finds such details and explains each one, so the form can
ask the person to remove it (and call instead) and a message can be held back before sending.

The rules are deliberately simple and explainable:

* Identifiers (SSN, medical record number, insurance member number) count wherever they
  appear.
* A date counts as a date of birth only next to a birth word ("DOB", "born", "birthday");
  "Can I come on 12/03?" is scheduling.
* A diagnosis, symptom or medicine name counts only in a personal context: a cue such as "I
  have", "my", "she suffers", "been on" nearby in the same sentence, with no generic-question
  framing ("do you treat", "people who") in between. "Do you treat migraine?" asks about the
  clinic; "I've had migraines since I was 12" discloses.
* A phone number or an age counts only beside health words, because on its own it is how a
  contact form works.

Word lists and patterns live in data files (``phi_data/``), not in code, so the clinic can
extend them without a release. Pure Python: no Django import, so it is cheap to test
exhaustively and safe to call from any layer.
"""

from __future__ import annotations

import bisect
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "phi_data"
"""The packaged word lists and patterns used by :func:`default_guard`."""

MAX_EXCERPT_CHARS = 40

# Plain words for each kind, used by GuardResult.advice(). Diagnosis and symptom share a phrase
# because the person does not need to know which list a word came from.
_KIND_PHRASES: Mapping[str, str] = {
    "date_of_birth": "a date of birth",
    "ssn": "a Social Security number",
    "mrn": "a medical record or chart number",
    "insurance_id": "an insurance member or policy number",
    "diagnosis": "a diagnosis or symptom",
    "symptom": "a diagnosis or symptom",
    "medication": "a medicine name",
    "procedure": "a test, scan or treatment you had",
    "phone_with_health": "a phone number written next to health details",
    "age": "an age written next to health details",
}

# Sentence ends: a full stop, question or exclamation mark followed by a space or the end, or a
# line break. A dot inside "12.11.1979" or "0.5" is not a sentence end.
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n")
_COMMENT_PREFIX = "#"
_PLURAL_SUFFIX = r"(?:s|es|'s|’s)?"


@dataclass(frozen=True)
class Finding:
    """One piece of health information found in a text, with where it is and why it counts."""

    kind: str
    excerpt: str
    start: int
    end: int


@dataclass(frozen=True)
class GuardResult:
    """Everything the guard found in one text, in the order it appears."""

    findings: tuple[Finding, ...]

    @property
    def contains_phi(self) -> bool:
        """Whether the text carries any health information and must not be sent as is."""
        return bool(self.findings)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The distinct kinds found, in order of first appearance."""
        return tuple(dict.fromkeys(finding.kind for finding in self.findings))

    def advice(self) -> str:
        """Say in plain words what to take out, and that calling the clinic is the safe way.

        Returns an empty string when nothing was found, so callers can show it unconditionally.
        """
        if not self.contains_phi:
            return ""
        phrases = list(dict.fromkeys(_KIND_PHRASES.get(kind, "a health detail") for kind in self.kinds))
        return (
            "For your privacy, please do not send health details through this form or by text "
            f"or email. Your message includes {_join_phrases(phrases)}. Please take "
            f"{'it' if len(phrases) == 1 else 'them'} out and send it again, or call the clinic "
            "and talk to us directly instead."
        )


def _join_phrases(phrases: Sequence[str]) -> str:
    """Join phrases as a person would write them: "a, b and c"."""
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def read_word_list(path: Path) -> list[str]:
    """Read one word per line, skipping blank lines and ``#`` comments, lower-cased."""
    words: list[str] = []
    for raw_line in path.read_text(encoding="utf-8").splitlines():
        line = raw_line.strip()
        if line and not line.startswith(_COMMENT_PREFIX):
            words.append(line.lower())
    return words


def compile_word_list(words: Iterable[str]) -> re.Pattern[str]:
    """Compile words into one case-insensitive alternation with word boundaries.

    One alternation per list keeps matching a single pass over the text. Longer words come
    first so "chronic migraine" wins over "migraine". Spaces and hyphens inside a phrase match
    any run of spaces or hyphens ("tension-type headache", "tension type headache"), and a
    plural or possessive ending is accepted ("auras", "Parkinson's").
    """
    unique = sorted(set(words), key=lambda word: (-len(word), word))
    if not unique:
        # A pattern that never matches keeps an empty list harmless.
        return re.compile(r"(?!x)x")
    alternatives = [r"[\s\-]+".join(re.escape(part) for part in re.split(r"[\s\-]+", word)) for word in unique]
    body = "|".join(alternatives)
    return re.compile(rf"(?<!\w)(?:{body}){_PLURAL_SUFFIX}(?!\w)", re.IGNORECASE)


def _compile_all(patterns: Iterable[str]) -> re.Pattern[str]:
    """Join several regexes from the data file into one, so each is one pass over the text."""
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.IGNORECASE)


def _excerpt(text: str, start: int, end: int) -> str:
    """The matched text, cut to MAX_EXCERPT_CHARS so findings stay short when logged."""
    return text[start:end][:MAX_EXCERPT_CHARS]


def _as_str_list(value: Any, where: str) -> list[str]:
    """Check a TOML value is a list of strings, naming the key when the data file is wrong."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        msg = f"patterns.toml: {where} must be a list of strings"
        raise ValueError(msg)
    return list(value)


def _table(config: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = config.get(key)
    if not isinstance(value, dict):
        msg = f"patterns.toml: [{key}] table is missing"
        raise ValueError(msg)
    return value


@dataclass(frozen=True)
class _Sentences:
    """Sentence boundaries of one text, to keep context from leaking across sentences."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> _Sentences:
        starts = [0]
        ends: list[int] = []
        for match in _SENTENCE_END.finditer(text):
            ends.append(match.end())
            starts.append(match.end())
        ends.append(len(text))
        return cls(tuple(starts), tuple(ends))

    def span_at(self, position: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.starts, position) - 1
        return self.starts[index], self.ends[index]


class PhiGuard:
    """Finds health information in free text, driven by the files in a data directory.

    The directory holds ``patterns.toml`` (identifier regexes, context cues, and which word
    list produces which kind of finding), the word lists it names, and ``allowlist.txt`` (phrases
    naming the clinic's service, blanked out before health words are looked for).
    """

    def __init__(self, data_dir: Path | None = None) -> None:
        directory = DATA_DIR if data_dir is None else data_dir
        with (directory / "patterns.toml").open("rb") as handle:
            config = tomllib.load(handle)

        self._word_lists: list[tuple[str, re.Pattern[str]]] = [
            (str(kind), compile_word_list(read_word_list(directory / str(filename))))
            for filename, kind in _table(config, "word_lists").items()
        ]
        allowlist_path = directory / "allowlist.txt"
        self._allowlist = compile_word_list(read_word_list(allowlist_path) if allowlist_path.exists() else [])

        self._identifiers: list[tuple[str, re.Pattern[str]]] = [
            (str(kind), _compile_all(_as_str_list(patterns, f"identifiers.{kind}")))
            for kind, patterns in _table(config, "identifiers").items()
        ]

        dob = _table(config, "date_of_birth")
        self._dob_window = int(dob["window_chars"])
        self._birth_cues = _compile_all(_as_str_list(dob["birth_cues"], "birth_cues"))
        self._dates = _compile_all(_as_str_list(dob["dates"], "dates"))

        context = _table(config, "context")
        self._window_before = int(context["window_before"])
        self._window_after = int(context["window_after"])
        self._cues = _compile_all(_as_str_list(context["cues"], "context.cues"))
        self._suppressors = _compile_all(_as_str_list(context["suppressors"], "context.suppressors"))

        shapes = _table(config, "personal_shapes")
        self._dose_after_medication = re.compile(str(shapes["dose_after_medication"]), re.IGNORECASE)
        self._personal_shapes: list[tuple[str, re.Pattern[str]]] = [
            (str(kind), _compile_all(_as_str_list(patterns, f"personal_shapes.{kind}")))
            for kind, patterns in shapes.items()
            if kind != "dose_after_medication"
        ]

        self._companions: list[tuple[str, re.Pattern[str]]] = [
            (str(kind), _compile_all(_as_str_list(patterns, f"companions.{kind}")))
            for kind, patterns in _table(config, "companions").items()
        ]

    def check(self, text: str) -> GuardResult:
        """Return every piece of health information in ``text``, each named by kind."""
        findings: list[Finding] = []
        findings.extend(self._find_identifiers(text))
        findings.extend(self._find_dates_of_birth(text))

        masked = self._mask_allowlisted(text)
        sentences = _Sentences.of(masked)
        cues = [(m.start(), m.end()) for m in self._cues.finditer(masked)]
        suppressors = [(m.start(), m.end()) for m in self._suppressors.finditer(masked)]

        has_health_words = False
        for kind, pattern in self._word_lists:
            for match in pattern.finditer(masked):
                has_health_words = True
                is_dosed = kind == "medication" and bool(self._dose_after_medication.match(masked, match.end()))
                if is_dosed or self._is_personal(match.start(), match.end(), sentences, cues, suppressors):
                    findings.append(Finding(kind, _excerpt(text, match.start(), match.end()), *match.span()))
        for kind, pattern in self._personal_shapes:
            for match in pattern.finditer(masked):
                has_health_words = True
                findings.append(Finding(kind, _excerpt(text, match.start(), match.end()), *match.span()))

        if has_health_words or findings:
            findings.extend(self._find_companions(text))
        return GuardResult(_without_overlaps(findings))

    def _find_identifiers(self, text: str) -> Iterable[Finding]:
        for kind, pattern in self._identifiers:
            for match in pattern.finditer(text):
                yield Finding(kind, _excerpt(text, match.start(), match.end()), *match.span())

    def _find_dates_of_birth(self, text: str) -> Iterable[Finding]:
        """A date within the window of a birth word, reported as the span from word to date."""
        cue_spans = [m.span() for m in self._birth_cues.finditer(text)]
        if not cue_spans:
            return
        for date in self._dates.finditer(text):
            for cue_start, cue_end in cue_spans:
                gap = date.start() - cue_end if date.start() >= cue_end else cue_start - date.end()
                if 0 <= gap <= self._dob_window:
                    start, end = min(cue_start, date.start()), max(cue_end, date.end())
                    yield Finding("date_of_birth", _excerpt(text, start, end), start, end)
                    break

    def _find_companions(self, text: str) -> Iterable[Finding]:
        for kind, pattern in self._companions:
            for match in pattern.finditer(text):
                yield Finding(kind, _excerpt(text, match.start(), match.end()), *match.span())

    def _mask_allowlisted(self, text: str) -> str:
        """Blank out service phrases with spaces, keeping every offset unchanged."""
        return self._allowlist.sub(lambda match: " " * len(match.group(0)), text)

    def _is_personal(
        self,
        start: int,
        end: int,
        sentences: _Sentences,
        cues: Sequence[tuple[int, int]],
        suppressors: Sequence[tuple[int, int]],
    ) -> bool:
        """Whether a cue ties the word at [start, end) to a person, inside its sentence.

        The nearest cue before the word counts unless a suppressor reaches past that cue's start
        and begins before the word ("I was wondering whether you treat migraine", and "Do I
        need an MRI", where the suppressor contains the cue). The nearest cue after the word
        counts unless a suppressor begins between the word and that cue.
        """
        sentence_start, sentence_end = sentences.span_at(start)
        lower = max(sentence_start, start - self._window_before)
        upper = min(sentence_end, end + self._window_after)

        before = [cue for cue in cues if lower <= cue[0] and cue[1] <= start]
        if before:
            nearest_start = max(before)[0]
            if not any(s_end > nearest_start and s_start < start for s_start, s_end in suppressors):
                return True
        after = [cue_start for cue_start, cue_end in cues if cue_start >= end and cue_end <= upper]
        if after:
            nearest = min(after)
            return not any(end <= s_start < nearest for s_start, _ in suppressors)
        return False


def _without_overlaps(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Keep the longest of overlapping findings, so one phrase is reported once, in order.

    "opioid addiction" is in the diagnosis list and "opioid" in the medicine list; the person
    should be told about the phrase once.
    """
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (-(f.end - f.start), f.start)):
        if all(finding.end <= other.start or finding.start >= other.end for other in kept):
            kept.append(finding)
    return tuple(sorted(kept, key=lambda f: (f.start, f.end)))


@functools.lru_cache(maxsize=1)
def default_guard() -> PhiGuard:
    """The guard loaded from the packaged data directory, built once per process."""
    return PhiGuard()
