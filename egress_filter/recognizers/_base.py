"""What every Chinese pattern recognizer shares: CJK-safe patterns in two regex dialects.

Each pattern is written once as a *core* in the syntax common to Python's ``regex`` module and
RE2 (no lookarounds, no backreferences), plus the characters that must not touch it on the left
and on the right. From that we build

- the Presidio/``regex`` form, with lookarounds (``\\b`` fails next to Han characters, which are
  word characters, so boundaries are spelled out as "no digit / no letter here");
- the RE2 form used by ``pyarrow.compute`` on whole columns, where lookarounds do not exist and
  the boundary becomes ``(?:^|[^...])``. That form only answers "does this cell contain one?".

Regex timeouts are failures, not misses: Presidio logs and skips a pattern that times out
(fail-open), an egress gate must not, so :class:`ChinesePatternRecognizer` runs its own loop and
raises :class:`DetectionTimeout`.

Importing Presidio costs over a second (it pulls in spaCy), and the column path never calls it.
So each recognizer module defines its patterns, context words and validators on a plain class
(:class:`ChinesePatterns`), and the Presidio recognizer of the same module is that class mixed
with :class:`ChinesePatternRecognizer`, created on first access (:func:`presidio_class`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, ClassVar

import numpy as np
import regex

# Seconds one pattern may run on one chunk of text (chunks are ~2,000 characters).
REGEX_TIMEOUT_SECONDS = float(os.environ.get("EGRESS_REGEX_TIMEOUT_SECONDS", "10"))


# Every cell holding a digit-shaped identifier (ID, card, phone, passport, USCC, IP) matches this.
DIGIT_PREFILTER = r"[0-9]{3}[ -]?[0-9]{3}|[0-9]\.[0-9]|:[0-9A-Fa-f]*:"


class DetectionError(Exception):
    """The detector could not finish; the caller must treat the input as not scanned (block)."""

    code = "detection_failed"

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh


class DetectionTimeout(DetectionError):
    code = "regex_timeout"


@dataclass(frozen=True)
class Spec:
    """One pattern: a dialect-neutral core and the neighbours it must not have.

    ``left``/``right`` are character-class bodies (e.g. ``"0-9."``). ``no_decimal_after`` also
    refuses a match followed by ``.<digit>``, so the integer part of ``13800138000.5`` is not a
    phone, just as ``(?<![0-9.])`` refuses the fractional part of ``72.19131982042``.
    """

    name: str
    core: str
    score: float
    left: str = "0-9"
    right: str = "0-9"
    no_decimal_after: bool = False

    def python(self) -> str:
        before = f"(?<![{self.left}])" if self.left else ""
        after = f"(?![{self.right}])" if self.right else ""
        if self.no_decimal_after:
            after += r"(?!\.[0-9])"
        return f"{before}(?:{self.core}){after}"

    def re2(self) -> str:
        before = f"(?:^|[^{self.left}])" if self.left else ""
        if self.no_decimal_after:
            right = self.right if "." in self.right else self.right + "."
            after = f"(?:$|[^{right}]|\\.(?:$|[^0-9]))"
        else:
            after = f"(?:$|[^{self.right}])" if self.right else ""
        return f"{before}(?:{self.core}){after}"


def join_re2(specs: tuple[Spec, ...]) -> str:
    """One RE2 pattern that matches a cell containing any of ``specs``."""
    return "|".join(f"(?:{s.re2()})" for s in specs)


def context_in_name(words: tuple[str, ...], column: str) -> bool:
    """Whether a column name carries one of the context words.

    Han words match as substrings (``身份证号`` holds ``身份证``); ASCII words must be a whole
    token of the name, so ``ip`` does not fire on ``zip`` nor ``id`` on ``paid``.
    """
    if not column:
        return False
    lowered = column.lower()
    tokens = set(regex.split(r"[^a-z0-9]+", regex.sub(r"([a-z])([A-Z])", r"\1_\2", column).lower()))
    for word in words:
        if word.isascii():
            if word.lower() in tokens or (len(word) > 4 and word.lower() in lowered):
                return True
        elif word in column:
            return True
    return False


MIN_SCORE = 0.0  # Presidio's EntityRecognizer.MIN_SCORE / MAX_SCORE, without importing it
MAX_SCORE = 1.0


class ChinesePatterns:
    """Specs, context words, validators and the column hooks of one pattern recognizer.

    Subclasses set ``ENTITY``, ``SPECS``, ``CONTEXT`` and, when the identifier has a check
    digit, override :meth:`validate_result` (both paths) and :meth:`valid_fixed` (vectorized
    column path over fixed-width ASCII values). Plain Python: no Presidio import.
    """

    ENTITY: ClassVar[str]
    SPECS: ClassVar[tuple[Spec, ...]]
    CONTEXT: ClassVar[tuple[str, ...]]
    FLAGS: ClassVar[int] = regex.MULTILINE
    # Words that, just before a match, say it is something else (订单号 before a Luhn-valid
    # number). Presidio only has positive context, so these are checked here.
    NEGATIVE_CONTEXT: ClassVar[tuple[str, ...]] = ()
    NEGATIVE_WINDOW: ClassVar[int] = 8
    # Column path: a cheap RE2 that every cell holding this entity matches (shared across
    # recognizers, so it runs once per column), and the score a column hit starts from.
    PREFILTER: ClassVar[str] = DIGIT_PREFILTER
    COLUMN_SCORE: ClassVar[float] = 0.6
    # Lengths of pure-digit cells this entity can be, handled by ``valid_fixed`` without regex.
    DIGIT_LENGTHS: ClassVar[frozenset[int]] = frozenset()
    # Whether every match contains a Han character (so all-ASCII columns can be skipped).
    NEEDS_HAN: ClassVar[bool] = False
    # Whether a regex match still needs ``validate_result`` (checksum) in the column path.
    NEEDS_VALIDATION: ClassVar[bool] = False

    def __init__(self, supported_language: str = "zh") -> None:
        self.name = type(self).__name__
        self.supported_language = supported_language
        self._compiled = self._compile()

    def _compile(self) -> list[tuple[Spec, regex.Pattern]]:
        return [(s, regex.compile(s.python(), self.FLAGS)) for s in self.SPECS]

    def validate_result(self, pattern_text: str) -> bool | None:
        """True/False when a checksum decides, None to keep the pattern score."""
        return None

    def _finditer(self, spec: Spec, compiled: regex.Pattern, text: str) -> list[regex.Match]:
        try:
            return list(compiled.finditer(text, timeout=REGEX_TIMEOUT_SECONDS))
        except TimeoutError as exc:
            raise DetectionTimeout(
                f"pattern {spec.name} of {self.ENTITY} timed out after "
                f"{REGEX_TIMEOUT_SECONDS}s; the text was not fully scanned",
                f"{self.ENTITY} 的模式 {spec.name} 超时（{REGEX_TIMEOUT_SECONDS} 秒），文本未能完整扫描",
            ) from exc

    def _negated(self, text: str, start: int) -> bool:
        if not self.NEGATIVE_CONTEXT:
            return False
        before = text[max(0, start - self.NEGATIVE_WINDOW) : start].lower()
        return any(word in before for word in self.NEGATIVE_CONTEXT)

    def score_match(self, spec: Spec, value: str) -> float:
        """Pattern score, 1.0 when a checksum validates, 0 when it fails."""
        verdict = self.validate_result(value)
        if verdict is None:
            return spec.score
        return MAX_SCORE if verdict else MIN_SCORE

    # -- column path ---------------------------------------------------------------------
    def find_valid(self, cell: str) -> str | None:
        """First match in ``cell`` that passes validation (slow path for embedded values)."""
        for spec, compiled in self._compiled:
            for match in self._finditer(spec, compiled, cell):
                if self.score_match(spec, match.group()) > 0:
                    return match.group()
        return None

    def valid_fixed(self, chars: np.ndarray) -> np.ndarray | None:
        """Vectorized validation of ``(n, L)`` ASCII byte rows that are whole cells.

        Returns a boolean array, or None when this recognizer has no vectorized form for
        width ``L`` (then each cell goes through :meth:`find_valid`).
        """
        return None

    def name_context(self, column: str) -> bool:
        return context_in_name(self.CONTEXT, column)


@lru_cache(maxsize=1)
def _recognizer_base() -> type:
    """:class:`ChinesePatternRecognizer`, built on first use (imports Presidio)."""
    from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult

    class ChinesePatternRecognizer(ChinesePatterns, PatternRecognizer):
        """Presidio pattern recognizer over :class:`ChinesePatterns` (text path).

        ``analyze`` runs its own loop so a regex timeout raises instead of being skipped,
        and applies the negative context words.
        """

        def __init__(self, supported_language: str = "zh") -> None:
            patterns = [Pattern(s.name, s.python(), s.score) for s in self.SPECS]
            PatternRecognizer.__init__(
                self,
                supported_entity=self.ENTITY,
                name=type(self).__name__,
                supported_language=supported_language,
                patterns=patterns,
                context=list(self.CONTEXT),
                global_regex_flags=self.FLAGS,
            )
            self._compiled = self._compile()

        def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):  # noqa: D102
            results: list[RecognizerResult] = []
            for spec, compiled in self._compiled:
                for match in self._finditer(spec, compiled, text):
                    if self._negated(text, match.start()):
                        continue
                    score = self.score_match(spec, match.group())
                    if score > EntityRecognizer.MIN_SCORE:
                        results.append(self._result(match.start(), match.end(), score, spec))
            return EntityRecognizer.remove_duplicates(results)

        def _result(self, start: int, end: int, score: float, spec: Spec) -> RecognizerResult:
            explanation = self.build_regex_explanation(
                self.name, spec.name, spec.python(), score, None, self.FLAGS
            )
            return RecognizerResult(
                entity_type=self.ENTITY,
                start=start,
                end=end,
                score=score,
                analysis_explanation=explanation,
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                },
            )

    ChinesePatternRecognizer.__module__ = __name__
    ChinesePatternRecognizer.__qualname__ = "ChinesePatternRecognizer"
    return ChinesePatternRecognizer


@cache
def presidio_class(patterns: type, name: str, base: Any = None) -> type:
    """The Presidio recognizer class ``name`` for a plain patterns class (one per process).

    ``base`` builds the Presidio base class; pattern recognizers use
    :class:`ChinesePatternRecognizer`. The patterns class comes first in the MRO, so its
    ``validate_result`` and column hooks win over Presidio's defaults.
    """
    parent = (base or _recognizer_base)()
    bases = (parent,) if issubclass(parent, patterns) else (patterns, parent)
    cls = type(name, bases, {"__doc__": patterns.__doc__})
    cls.__module__ = patterns.__module__
    return cls


def lazy_recognizer(module: str, attribute: str, name: str, patterns: type, base: Any = None):
    """Module ``__getattr__`` helper: resolve ``name`` to its Presidio class on first access."""
    if attribute == name:
        return presidio_class(patterns, name, base)
    raise AttributeError(f"module {module!r} has no attribute {attribute!r}")


def __getattr__(attribute: str) -> Any:
    if attribute == "ChinesePatternRecognizer":
        return _recognizer_base()
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


def digits_of(chars: np.ndarray) -> np.ndarray:
    """ASCII byte rows → digit values (int16, so weighted sums do not overflow)."""
    return chars.astype(np.int16) - ord("0")


def all_digits(chars: np.ndarray) -> np.ndarray:
    return ((chars >= ord("0")) & (chars <= ord("9"))).all(axis=1)


def luhn_valid(digits: np.ndarray) -> np.ndarray:
    """Luhn over ``(n, L)`` digit rows (ISO/IEC 7812): every second digit from the right doubled."""
    width = digits.shape[1]
    doubled = np.zeros(width, dtype=bool)
    doubled[width - 2 :: -2] = True
    values = digits.copy()
    values[:, doubled] *= 2
    values[values > 9] -= 9
    return values.sum(axis=1) % 10 == 0


def han_class_without(chars: str) -> str:
    """A character class of the CJK unified ideographs minus ``chars``, valid in regex and RE2.

    Used so a street name does not swallow the verb before it (``住在花园路`` → ``花园路``).
    """
    excluded = sorted({ord(c) for c in chars if 0x4E00 <= ord(c) <= 0x9FFF})
    parts, start = [], 0x4E00
    for code in excluded:
        if code > start:
            parts.append(f"{chr(start)}-{chr(code - 1)}")
        start = code + 1
    parts.append(f"{chr(start)}-{chr(0x9FFF)}")
    return "[" + "".join(parts) + "]"
