"""PERSON: Chinese personal names, from jieba's shipped dictionary and a shipped surname list.

No model is downloaded: jieba (already the spaCy segmenter) ships its dictionary with part-of-
speech tags and an HMM for unknown words. A token is a name candidate when it is 2-4 Han
characters, starts with a surname from ``egress_filter/data/surnames.txt`` (single surnames take
1-2 given-name characters, compound surnames such as 欧阳 take 1-2), is not a dictionary word
with a non-name tag (``马上``, ``高度``), and does not end like a place or an organisation
(``金水区``, ``黄河``). Dictionary ``nr`` words score higher than unknown words. Context words
(姓名, 联系人, 先生 ...) raise the score through Presidio's context enhancer.

In tables a column of names is found from its values: whole cells of that shape
(:meth:`PersonNames.column_rows`), with the column name as context.

jieba's full dictionaries take about a second to load; :func:`name_score` only needs the words
that start with a shipped surname. That subset (tag, and frequency of two-character ``nr``
words) is derived once and cached on disk (:func:`_lexicon`), keyed by jieba's version, its
dictionary file and the surname list.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from egress_filter.recognizers._base import context_in_name, han_class_without, lazy_recognizer

# Last characters of places, organisations and things, not of given names.
_NOT_NAME_ENDINGS = frozenset(
    "省市区县镇乡村路街巷道河湖桥站局厅院所馆部处科队司店厂场园庄屯营楼府宫寺"
    "州港湾岛塘坊门关口堡厦苑阁轩斋号室栋层段线组费额率数量价款税表期年月日人员者"
    "的了是在和与及等说为把被给向从到对"
)
NAME_CONTEXT = (
    "姓名", "名字", "联系人", "申请人", "户主", "法人", "负责人", "经办人", "患者", "乘客", "旅客",
    "先生", "女士", "同志", "本人", "收件人", "投诉人", "当事人", "驾驶人", "车主", "学生",
    "持卡人", "乘车人", "寄件人", "监护人", "签字", "签名", "姓",
    "name", "contact", "person", "applicant", "owner", "passenger", "xm",
)


_COMMON_SURNAMES = 120  # the list is ordered by population; the rest are rare surnames


@lru_cache(maxsize=1)
def _surname_list() -> list[str]:
    text = resources.files("egress_filter.data").joinpath("surnames.txt").read_text("utf-8")
    return [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]


@lru_cache(maxsize=1)
def surnames() -> tuple[frozenset[str], frozenset[str]]:
    """(single-character surnames, compound surnames) from the shipped list."""
    words = _surname_list()
    return (frozenset(w for w in words if len(w) == 1), frozenset(w for w in words if len(w) == 2))


@lru_cache(maxsize=1)
def common_surnames() -> frozenset[str]:
    """The most frequent single-character surnames (about 85 % of the population)."""
    return frozenset([w for w in _surname_list() if len(w) == 1][:_COMMON_SURNAMES])


_COMMON_WORD_FREQ = 800
_LEXICON_FORMAT = 1  # bump when the cached subset changes shape


def _surname_word(word: str, single: frozenset[str], compound: frozenset[str]) -> bool:
    """Whether ``word`` has the surname shape :func:`name_score` requires (before tags)."""
    return (word[:2] in compound and len(word) >= 3) or (word[0] in single and len(word) <= 3)


def _lexicon_key() -> str:
    spec = importlib.util.find_spec("jieba")
    origin = Path(spec.origin) if spec and spec.origin else None
    stamp = ""
    if origin is not None:
        dictionary = origin.parent / "dict.txt"
        info = dictionary.stat() if dictionary.exists() else None
        stamp = f"{origin.parent}|{info.st_size}|{info.st_mtime_ns}" if info else str(origin)
    surnames_text = "\n".join(_surname_list())
    raw = f"{_LEXICON_FORMAT}|{stamp}|{surnames_text}".encode()
    return hashlib.sha256(raw).hexdigest()[:24]


def _cache_dirs() -> list[Path]:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return [Path(base) / "enclave", Path(tempfile.gettempdir()) / f"enclave-cache-{uid}"]


def _derive_lexicon() -> tuple[dict[str, str], dict[str, int]]:
    """From jieba's dictionaries: tags of surname-shaped words, frequency of 2-char nr ones."""
    import jieba
    import jieba.posseg

    jieba.dt.check_initialized()
    single, compound = surnames()
    tags = {
        w: t
        for w, t in jieba.posseg.dt.word_tag_tab.items()
        if 2 <= len(w) <= 4 and _is_han(w) and _surname_word(w, single, compound)
    }
    freq = {w: jieba.dt.FREQ.get(w, 0) for w, t in tags.items() if t == "nr" and len(w) == 2}
    return tags, freq


def _read_cached(path: Path) -> tuple[dict[str, str], dict[str, int]] | None:
    try:
        with path.open("rb") as fh:
            tags, freq = marshal.load(fh)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if isinstance(tags, dict) and isinstance(freq, dict):
        return tags, freq
    return None


def _write_cached(path: Path, data: tuple[dict[str, str], dict[str, int]]) -> None:
    """Atomic write (temp file + rename), so concurrent processes never read half a file."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                marshal.dump(data, fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return  # not writable: the next directory is tried


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, str], dict[str, int]]:
    """(tag of each surname-shaped dictionary word, frequency of the 2-char nr ones)."""
    name = f"person-lexicon-{_lexicon_key()}.marshal"
    for directory in _cache_dirs():
        cached = _read_cached(directory / name)
        if cached is not None:
            return cached
    data = _derive_lexicon()
    for directory in _cache_dirs():
        _write_cached(directory / name, data)
        if (directory / name).exists():
            break
    return data


def _word_tags() -> dict[str, str]:
    return _lexicon()[0]


def _word_freq() -> dict[str, int]:
    return _lexicon()[1]


@lru_cache(maxsize=1)
def rejected_words() -> frozenset[str]:
    """Surname-shaped dictionary words that :func:`name_score` refuses by tag or frequency."""
    tags, freq = _lexicon()
    out = {w for w, t in tags.items() if t not in ("nr", "ns")}
    out |= {w for w, f in freq.items() if f >= _COMMON_WORD_FREQ}
    return frozenset(out | set(NAME_CONTEXT))


def _is_han(text: str) -> bool:
    return all("\u4e00" <= c <= "\u9fff" for c in text)


def name_score(word: str) -> float:
    """Score of ``word`` as a Chinese personal name; 0 when it is not one."""
    if not 2 <= len(word) <= 4 or not _is_han(word) or word[-1] in _NOT_NAME_ENDINGS:
        return 0.0
    if word in NAME_CONTEXT:
        return 0.0
    single, compound = surnames()
    if not _surname_word(word, single, compound):
        return 0.0
    # Rare surnames are also everyday characters (区, 和, 银, 惠), and jieba's dictionary tags
    # some words starting with them as names (银行卡/nr): those need a context word to pass.
    common = word[:2] in compound or word[0] in common_surnames()
    tag = _word_tags().get(word)
    if tag is None:
        return 0.45 if common else 0.3  # unknown to the dictionary, grouped by jieba's HMM
    if tag == "ns":
        return 0.3  # jieba knows many names as places (黄洋, 梁海): a context word decides
    if tag != "nr":
        return 0.0
    # jieba tags some everyday words nr (谢谢, 江山); frequent two-character ones are not names.
    if len(word) == 2 and _word_freq().get(word, 0) >= _COMMON_WORD_FREQ:
        return 0.0
    return 0.6 if common else 0.3


_HAN = "[\u4e00-\u9fff]"


@lru_cache(maxsize=1)
def _whole_name_re2() -> str:
    """RE2 for a whole cell with the length, Han and surname shape of :func:`name_score`."""
    single, compound = surnames()
    last = han_class_without("".join(_NOT_NAME_ENDINGS))
    singles = "".join(sorted(single))
    compounds = "|".join(sorted(compound))
    return f"^(?:(?:{compounds}){_HAN}?{last}|[{singles}]{_HAN}?{last})$"


@lru_cache(maxsize=4)
def _rejected_array(string_type: pa.DataType) -> pa.Array:
    return pa.array(sorted(rejected_words()), type=string_type)


class PersonNames:
    """Chinese personal names: surname list, jieba dictionary subset, column hooks.

    Plain Python (no Presidio import); the Presidio recognizer is :class:`PersonRecognizer`.
    """

    ENTITY = "PERSON"
    CONTEXT = NAME_CONTEXT
    COLUMN_SCORE = 0.5

    def __init__(self, supported_language: str = "zh") -> None:
        self.name = type(self).__name__
        self.supported_language = supported_language

    def load(self) -> None:
        surnames()
        _lexicon()

    # -- column path ---------------------------------------------------------------------
    def name_context(self, column: str) -> bool:
        return context_in_name(self.CONTEXT, column)

    def column_rows(self, values: pa.Array) -> np.ndarray:
        """Boolean mask of cells that are a plausible Chinese name, or hold one after a label.

        Whole-cell names: :func:`name_score` > 0 computed on the whole column in Arrow — the
        shape in RE2, then membership in the dictionary words it refuses — so a million
        distinct names never reach a Python loop. Free-text cells (备注 ``联系人张伟电话…``)
        count when a name follows a label word.
        """
        single, compound = surnames()
        shaped = pc.fill_null(pc.match_substring_regex(values, _whole_name_re2()), False)
        hit = np.zeros(len(values), dtype=bool)
        if pc.any(shaped).as_py():
            refused = pc.is_in(values, value_set=_rejected_array(values.type))
            good = pc.and_(shaped, pc.invert(pc.fill_null(refused, False)))
            hit |= np.asarray(good.to_numpy(zero_copy_only=False), dtype=bool)
        labels = "|".join(w for w in NAME_CONTEXT if not w.isascii() and len(w) > 1)
        common = f"(?:{'|'.join(sorted(compound))}|[{''.join(sorted(common_surnames()))}])"
        labelled = f"(?:{labels})[:是为]?\\s*{common}\\p{{Han}}"
        longer = np.asarray(
            pc.fill_null(pc.greater(pc.utf8_length(values), 4), False).to_numpy(
                zero_copy_only=False
            ),
            dtype=bool,
        )
        if longer.any():  # a label and a name need at least 5 characters
            rows = np.flatnonzero(longer)
            texts = values if len(rows) == len(values) else values.take(pa.array(rows))
            found = pc.fill_null(pc.match_substring_regex(texts, labelled), False)
            hit[rows[np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)]] = True
        return hit


def _recognizer_base() -> type:
    """Presidio side of :class:`PersonRecognizer`: jieba tokens → name spans (text path)."""
    from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult

    class PersonEntityRecognizer(PersonNames, EntityRecognizer):
        def __init__(self, supported_language: str = "zh") -> None:
            EntityRecognizer.__init__(
                self,
                supported_entities=[self.ENTITY],
                name=type(self).__name__,
                supported_language=supported_language,
                context=list(self.CONTEXT),
            )

        def analyze(self, text, entities, nlp_artifacts=None):  # noqa: D102
            if nlp_artifacts is None or nlp_artifacts.tokens is None:
                return []
            results = []
            tokens = list(nlp_artifacts.tokens)
            single, compound = surnames()
            for i, token in enumerate(tokens):
                word, start = token.text, token.idx
                # jieba cuts 欧阳娜娜 into 欧阳 + 娜娜: a bare surname token joins the next token.
                if (word in single or word in compound) and i + 1 < len(tokens):
                    follower = tokens[i + 1]
                    if follower.idx == start + len(word):
                        # 孙 + 静静的: try the whole next token, then its first one or two characters.
                        for given in (follower.text, follower.text[:2], follower.text[:1]):
                            if name_score(word + given) > 0:
                                word += given
                                break
                score = name_score(word)
                if score > 0:
                    results.append(self._result(start, start + len(word), score))
            return results

        def _result(self, start: int, end: int, score: float) -> RecognizerResult:
            return RecognizerResult(
                entity_type=self.ENTITY,
                start=start,
                end=end,
                score=score,
                analysis_explanation=AnalysisExplanation(
                    recognizer=self.name,
                    original_score=score,
                    textual_explanation="surname + jieba dictionary/HMM token",
                ),
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                },
            )

    return PersonEntityRecognizer


def __getattr__(attribute: str) -> type:
    """``PersonRecognizer``: the Presidio recognizer, created on first access."""
    return lazy_recognizer(__name__, attribute, "PersonRecognizer", PersonNames, _recognizer_base)
