"""Classification levels (数据分级) — the one table every other module reads.

Default scale (edit :data:`LEVELS` / :data:`ENTITY_LEVELS` here to change it; nothing else in the
code base hard-codes a level number except through this module)::

    1 公开 public      authorizable; the sandbox mounts the real data
    2 内部 internal    authorizable; the sandbox mounts the real data
    3 敏感 sensitive   authorizable; the interactive sandbox mounts a synthetic twin,
                       real data only in batch builds
    4 核心 core        never authorizable (catalogued only)

The egress scanner tags columns with entities (``egress_filter.model.ENTITIES``); each entity
suggests a minimum level through :data:`ENTITY_LEVELS` and :func:`suggest_level` takes the maximum.
Declaring a level lower than the suggestion needs an explicit force (see :mod:`hub.catalog`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from hub.errors import ValidationError

SandboxView = Literal["real", "twin", "none"]


@dataclass(frozen=True)
class Level:
    """One classification level."""

    number: int
    zh: str
    en: str
    authorizable: bool
    sandbox_view: SandboxView  # what the interactive sandbox mounts for data of this level

    @property
    def label(self) -> str:
        return f"{self.number} {self.zh} / {self.en}"


LEVELS: dict[int, Level] = {
    1: Level(1, "公开", "public", True, "real"),
    2: Level(2, "内部", "internal", True, "real"),
    3: Level(3, "敏感", "sensitive", True, "twin"),
    4: Level(4, "核心", "core", False, "none"),
}

# Entities that identify or locate a natural person: personal information (个人信息) -> level 3.
PERSONAL_INFORMATION_LEVEL = 3
ENTITY_LEVELS: dict[str, int] = {
    "CN_RESIDENT_ID": PERSONAL_INFORMATION_LEVEL,
    "CN_MOBILE": PERSONAL_INFORMATION_LEVEL,
    "CN_LANDLINE": PERSONAL_INFORMATION_LEVEL,
    "BANK_CARD": PERSONAL_INFORMATION_LEVEL,
    "CN_PASSPORT": PERSONAL_INFORMATION_LEVEL,
    "CN_LICENSE_PLATE": PERSONAL_INFORMATION_LEVEL,
    "EMAIL_ADDRESS": PERSONAL_INFORMATION_LEVEL,
    "IP_ADDRESS": PERSONAL_INFORMATION_LEVEL,
    "PERSON": PERSONAL_INFORMATION_LEVEL,
    "LOCATION": PERSONAL_INFORMATION_LEVEL,
    # A unified social credit code identifies an organisation, not a person: public register data.
    "CN_USCC": 1,
}
# An entity the table does not know is treated as personal information (fail closed).
UNKNOWN_ENTITY_LEVEL = PERSONAL_INFORMATION_LEVEL


def min_level() -> int:
    return min(LEVELS)


def max_level() -> int:
    return max(LEVELS)


def get(number: int) -> Level:
    """The level ``number``; :class:`ValidationError` if there is none."""
    return LEVELS[validate(number, "level")]


def validate(value: object, field: str) -> int:
    """``value`` as a level number, or a :class:`ValidationError` naming ``field``."""
    low, high = min_level(), max_level()
    if isinstance(value, bool) or not isinstance(value, int) or value not in LEVELS:
        raise ValidationError(
            f"{field}: must be {low}..{high} (got {value!r})",
            f"{field}：分级必须为 {low}..{high}（实际为 {value!r}）",
        )
    return value


def suggest_level(tags: Mapping[str, Iterable[str]]) -> int:
    """The lowest level compatible with the scanner's column tags (entity names)."""
    suggested = min_level()
    for entities in tags.values():
        for entity in entities:
            suggested = max(suggested, ENTITY_LEVELS.get(entity, UNKNOWN_ENTITY_LEVEL))
    return suggested


def is_authorizable(number: int) -> bool:
    return get(number).authorizable
