"""PERSON: Chinese personal names, from jieba's shipped dictionary and a shipped surname list.

No model is downloaded: jieba (already the spaCy segmenter) ships its dictionary with part-of-
speech tags and an HMM for unknown words. A token is a name candidate when it is 2-4 Han
characters, starts with a surname from ``egress_filter/data/surnames.txt`` (single surnames take
1-2 given-name characters, compound surnames such as 欧阳 take 1-2), is not a dictionary word
with a non-name tag (``马上``, ``高度``), and does not end like a place or an organisation
(``金水区``, ``黄河``). Dictionary ``nr`` words score higher than unknown words. Context words
(姓名, 联系人, 先生 ...) raise the score through Presidio's context enhancer.

In tables a column of names is found from its values: whole cells of that shape
(:meth:`PersonRecognizer.column_rows`), with the column name as context.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult

from egress_filter.recognizers._base import context_in_name

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


@lru_cache(maxsize=1)
def _word_tags() -> dict[str, str]:
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab


_COMMON_WORD_FREQ = 800


@lru_cache(maxsize=1)
def _word_freq() -> dict[str, int]:
    import jieba

    jieba.dt.check_initialized()
    return jieba.dt.FREQ


def _is_han(text: str) -> bool:
    return all("\u4e00" <= c <= "\u9fff" for c in text)


def name_score(word: str) -> float:
    """Score of ``word`` as a Chinese personal name; 0 when it is not one."""
    if not 2 <= len(word) <= 4 or not _is_han(word) or word[-1] in _NOT_NAME_ENDINGS:
        return 0.0
    if word in NAME_CONTEXT:
        return 0.0
    single, compound = surnames()
    if word[:2] in compound and len(word) >= 3:
        pass
    elif not (word[0] in single and len(word) <= 3):
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


class PersonRecognizer(EntityRecognizer):
    """Chinese personal names from jieba tokens and a surname list."""

    ENTITY = "PERSON"
    CONTEXT = NAME_CONTEXT

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entities=[self.ENTITY],
            name=type(self).__name__,
            supported_language=supported_language,
            context=list(self.CONTEXT),
        )

    def load(self) -> None:
        surnames()
        _word_tags()
        _word_freq()

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

    # -- column path ---------------------------------------------------------------------
    COLUMN_SCORE = 0.5

    def name_context(self, column: str) -> bool:
        return context_in_name(self.CONTEXT, column)

    def column_rows(self, values: pa.Array) -> np.ndarray:
        """Boolean mask of cells that are a plausible Chinese name, or hold one after a label.

        Whole-cell names: the shape test runs in RE2 over the full column and the dictionary
        test once per distinct candidate value, so a million rows of a few thousand names stay
        cheap. Free-text cells (备注 ``联系人张伟电话…``) count when a name follows a label word.
        """
        single, compound = surnames()
        surname = f"(?:{'|'.join(sorted(compound))}|[{''.join(sorted(single))}])"
        shape = f"^{surname}\\p{{Han}}{{1,2}}$"
        mask = pc.fill_null(pc.match_substring_regex(values, shape), False)
        hit = np.zeros(len(values), dtype=bool)
        if pc.any(mask).as_py():
            candidates = pc.unique(pc.filter(values, mask))
            good = [v for v in candidates.to_pylist() if name_score(v) > 0]
            found = pc.is_in(values, value_set=pa.array(good, type=values.type))
            hit |= np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool)
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
