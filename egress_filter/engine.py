"""The offline Presidio analyzer: blank spaCy pipelines, our recognizers, nothing downloaded.

``AnalyzerEngine()`` with no arguments builds the default NLP engine and tries to download
``en_core_web_lg`` (a ``SystemExit`` when offline, Presidio issue #1447), so the engine is always
built here with an explicit NLP engine and registry:

- ``zh``: ``spacy.blank("zh")`` with the jieba segmenter (jieba ships its dictionary), plus a
  component that copies each token's text into its lemma, because Presidio's context enhancer
  compares context words with lemmas and blank pipelines leave them empty;
- ``en``: ``spacy.blank("en")`` with the same component.

The engine is built lazily, once per process (:func:`get_analyzer`).
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from spacy.language import Language

from egress_filter.recognizers import build_recognizers

LANGUAGES = ("zh", "en")
_LOCK = threading.Lock()


@Language.component("egress_text_as_lemma")
def text_as_lemma(doc):
    """Blank pipelines have empty lemmas; context words need ``lemma_`` to hold the token."""
    for token in doc:
        token.lemma_ = token.text
    return doc


def blank_pipeline(language: str) -> Language:
    """A blank spaCy pipeline for ``language`` (jieba segmentation for Chinese)."""
    if language == "zh":
        import jieba

        jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not for users
        nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    else:
        nlp = spacy.blank(language)
    nlp.add_pipe("egress_text_as_lemma")
    # Chunks are ~2,000 characters; this only guards against a caller passing a huge text.
    nlp.max_length = 2_000_000
    return nlp


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """Presidio NLP engine over blank spaCy pipelines: tokens and lemmas, no NER, no model."""

    def __init__(self, languages: tuple[str, ...] = LANGUAGES) -> None:
        super().__init__(models=[{"lang_code": lang, "model_name": "blank"} for lang in languages])
        self.languages = languages

    def load(self) -> None:
        self.nlp = {lang: blank_pipeline(lang) for lang in self.languages}


def build_analyzer(languages: tuple[str, ...] = LANGUAGES) -> AnalyzerEngine:
    """A new analyzer with our recognizers only (Presidio's built-ins fail next to Han text)."""
    nlp_engine = BlankSpacyNlpEngine(languages)
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=list(languages))
    for language in languages:
        for recognizer in build_recognizers(language):
            registry.add_recognizer(recognizer)
    return AnalyzerEngine(
        nlp_engine=nlp_engine, registry=registry, supported_languages=list(languages)
    )


@lru_cache(maxsize=1)
def _cached() -> AnalyzerEngine:
    return build_analyzer()


def get_analyzer() -> AnalyzerEngine:
    """The process-wide analyzer, built on first use."""
    with _LOCK:
        return _cached()
