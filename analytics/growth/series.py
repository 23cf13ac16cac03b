"""From a model tree to a growth series: cumulative children per period since release.

The Hub's data has defects that a growth fit must survive; each is handled by one stated
rule, counted, and explained in ``GrowthSeries.notes``:

- **Creation-date floor.** Repositories created before the Hub stored creation dates carry
  its floor timestamp, 2022-03-02T23:29:04Z (or the second after it, from the same migration;
  ``tree.CREATED_AT_FLOOR``). Only a base dated exactly there (or with no date) has its
  release taken from the earliest dated child (``release_source = "earliest child"``); any
  other date, however old, is the base's own (citation data, other hubs). ``floor_rule=False``
  turns the rule off, and ``release_date`` (or ``release_dates`` by model) sets it by hand.
  ``release_reason`` says which date was used and why.
- **Children dated before their base** (re-uploaded bases, floored children) are kept: they
  are counted in period 1, and their event age is set to half a period (an age <= 0 has no
  likelihood under the model).
- **Missing dates**: such children are left out of the series and counted.
- **Duplicate child ids**: counted once, at the earliest date.
- **Children with several bases**: counted in full for this base, and counted.
- **Truncated listings** (``tree.truncated``, or a listing of exactly a known cap such as 300
  or 3,000): the series is a lower bound; flagged.

Periods have a fixed length (a month is 365.25/12 days), and period ``k`` covers ages
``((k-1)L, kL]``. The series holds the count at the end of every complete period, plus the
count at the snapshot time when the last period is incomplete (a fractional ``t``)::

    >>> trees = read_children_csv("hf_finetune_children_by_base.csv")
    >>> s = build_series(trees[0], unit="month")
    >>> s.t[:3], s.count[:3], s.notes
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from hubscape.analytics.growth.tree import CREATED_AT_FLOOR, ModelTree, looks_truncated
from hubscape.core.errors import InputError

#: Length of each period unit in days.
PERIOD_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12.0}

#: Dates from the floor up to (not including) this long after it are the floor: the Hub's
#: migration stamped 23:29:04 and 23:29:05 (sentence-transformers/distiluse-base-multilingual-
#: cased-v1 in the April-2025 crawl carries the latter).
FLOOR_WINDOW = timedelta(seconds=2)

_SECONDS_PER_DAY = 86400.0

#: The data-quality counts of a series, as stored.
_COUNTS = ("n_listed", "n_missing_dates", "n_duplicates", "n_before_release", "n_multi_base")


def placeholder_age(observed_until: float) -> float:
    """The event age given to children dated at or before the release: half a period (not a real time)."""
    return 0.5 * min(1.0, float(observed_until))


@dataclass
class GrowthSeries:
    """The observed growth of one base model's tree, with a report of the data's quality."""

    model: str
    unit: str
    t: np.ndarray
    """Period ends 1, 2, ..., K and, if the last period is incomplete, the snapshot age."""
    count: np.ndarray
    """Cumulative number of children at each ``t``."""
    events: np.ndarray
    """Ages of the children at creation in ``unit``, sorted, all > 0 (see the module rules)."""
    observed_until: float
    """Age at the end of observation (the snapshot) in ``unit``."""
    release_date: datetime
    release_source: str
    """"hub created_at", "earliest child" or "user"."""
    release_reason: str = ""
    """Why that release date: which evidence it is and, for the earliest child, why not the base's own."""
    snapshot: datetime | None = None
    relations: tuple[str, ...] = ("finetune",)
    source: str = ""
    n_listed: int = 0
    n_missing_dates: int = 0
    n_duplicates: int = 0
    n_before_release: int = 0
    n_multi_base: int = 0
    floor_dated: bool = False
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def n_events(self) -> int:
        """Number of dated children in the series."""
        return int(self.events.size)

    @property
    def periods(self) -> np.ndarray:
        """The 1-based period index of each point of the series (the last may be partial)."""
        return np.ceil(self.t - 1e-9).astype(int)

    def summary(self) -> dict[str, Any]:
        """The series' provenance and data-quality counts (JSON-able; the arrays are not in it)."""
        return {
            "model": self.model,
            "unit": self.unit,
            "relations": list(self.relations),
            "release_date": self.release_date,
            "release_source": self.release_source,
            "release_reason": self.release_reason,
            "snapshot": self.snapshot,
            "source": self.source,
            "observed_until": self.observed_until,
            "n_events": self.n_events,
            **{name: getattr(self, name) for name in _COUNTS},
            "floor_dated": self.floor_dated,
            "truncated": self.truncated,
            "notes": list(self.notes),
        }

    @classmethod
    def from_summary(cls, d: dict[str, Any], unit: str, t, count, events) -> GrowthSeries:
        """The series back from :meth:`summary` and its arrays (as a growth bundle stores them)."""

        def date(value):
            return None if value is None else datetime.fromisoformat(value) if isinstance(value, str) else value

        return cls(
            model=d["model"],
            unit=unit,
            t=np.asarray(t, dtype=float),
            count=np.asarray(count, dtype=float),
            events=np.asarray(events, dtype=float),
            observed_until=float(d["observed_until"]),
            release_date=date(d["release_date"]),
            release_source=d["release_source"],
            release_reason=d.get("release_reason", ""),
            snapshot=date(d.get("snapshot")),
            relations=tuple(d.get("relations", ())),
            source=d.get("source", ""),
            **{name: int(d.get(name, 0)) for name in _COUNTS},
            floor_dated=bool(d.get("floor_dated")),
            truncated=bool(d.get("truncated")),
            notes=list(d.get("notes", [])),
        )

    def with_unit(self, unit: str) -> GrowthSeries:
        """The same data counted in another period unit."""
        if unit == self.unit:
            return self
        scale = PERIOD_DAYS[self.unit] / PERIOD_DAYS[_check_unit(unit)]
        events = self.events * scale
        t, count = _cumulate(events, self.observed_until * scale)
        return GrowthSeries(
            **{
                **self.__dict__,
                "unit": unit,
                "t": t,
                "count": count,
                "events": events,
                "observed_until": self.observed_until * scale,
                "notes": list(self.notes),
            }
        )


def _check_unit(unit: str) -> str:
    if unit not in PERIOD_DAYS:
        raise InputError(f"unknown period unit {unit!r}; expected one of {', '.join(PERIOD_DAYS)}")
    return unit


def _cumulate(events: np.ndarray, observed_until: float) -> tuple[np.ndarray, np.ndarray]:
    complete = int(np.floor(observed_until + 1e-9))
    t = np.arange(1, complete + 1, dtype=float)
    if observed_until - complete > 1e-6 or complete == 0:
        t = np.append(t, observed_until)
    count = np.searchsorted(events, t, side="right").astype(float)
    return t, count


def _children(n: int) -> str:
    return f"{n} child" if n == 1 else f"{n} children"


def is_floor_dated(created_at: datetime | None) -> bool:
    """True if ``created_at`` is the Hub's creation-date floor timestamp (see FLOOR_WINDOW)."""
    return created_at is not None and CREATED_AT_FLOOR <= created_at < CREATED_AT_FLOOR + FLOOR_WINDOW


def _release(
    base_date: datetime | None, first_child: datetime, release_date: datetime | None, floor_rule: bool
) -> tuple[datetime, str, str]:
    """(release date, source, reason) by the module's rule."""
    if release_date is not None:
        return release_date, "user", f"given by the user ({release_date:%Y-%m-%d})"
    if base_date is None:
        return (
            first_child,
            "earliest child",
            (f"the base has no creation date; ages count from its earliest dated child ({first_child:%Y-%m-%d})"),
        )
    if floor_rule and is_floor_dated(base_date):
        return (
            first_child,
            "earliest child",
            (
                f"the base carries the Hub's creation-date floor ({base_date:%Y-%m-%d %H:%M:%S}), so its real "
                f"release is earlier; ages count from its earliest dated child ({first_child:%Y-%m-%d})"
            ),
        )
    return base_date, "hub created_at", f"the base's own creation date ({base_date:%Y-%m-%d})"


def build_series(
    tree: ModelTree,
    unit: str = "month",
    relations: tuple[str, ...] | None = None,
    release_date: datetime | None = None,
    floor_rule: bool = True,
) -> GrowthSeries:
    """The cumulative count of ``tree``'s children per ``unit`` since the base's release.

    ``relations`` picks the children to count (default: every relation the tree lists);
    ``release_date`` overrides the release date (``release_source = "user"``);
    ``floor_rule=False`` keeps a floor-dated base's own date. Raises InputError if the model
    has no dated children.
    """
    _check_unit(unit)
    period = PERIOD_DAYS[unit] * _SECONDS_PER_DAY
    relations = tuple(relations or tree.relations)
    model = tree.base.id
    notes: list[str] = []

    listed = [c for c in tree.children if c.relation in relations]
    if not listed:
        raise InputError(f"{model} has no children listed as {', '.join(relations)}; there is no growth to fit")
    earliest: dict[str, datetime | None] = {}
    n_duplicates = 0
    for child in listed:
        if child.id in earliest:
            n_duplicates += 1
            known = earliest[child.id]
            if child.created_at is not None and (known is None or child.created_at < known):
                earliest[child.id] = child.created_at
        else:
            earliest[child.id] = child.created_at
    n_multi_base = len({c.id for c in listed if len(c.base_models) > 1})
    dates = sorted(d for d in earliest.values() if d is not None)
    n_missing = sum(1 for d in earliest.values() if d is None)
    if not dates:
        raise InputError(
            f"{model}: none of its {len(earliest)} children has a creation date; there is no growth to fit"
        )

    base_date = tree.base.created_at
    floor_dated = is_floor_dated(base_date)
    release, release_source, release_reason = _release(base_date, dates[0], release_date, floor_rule)
    if release_source == "earliest child":
        notes.append(release_reason)

    ages = np.array([(d - release).total_seconds() / period for d in dates])
    snapshot = tree.taken_at
    if snapshot is not None:
        observed_until = (snapshot - release).total_seconds() / period
        if observed_until < ages[-1]:
            notes.append(
                f"the snapshot ({snapshot:%Y-%m-%d %H:%M}) is earlier than the latest child ({dates[-1]:%Y-%m-%d %H:%M}); "
                "observation ends at the latest child"
            )
            observed_until = float(ages[-1])
    else:
        observed_until = float(ages[-1])
        notes.append("the snapshot time is unknown; observation ends at the latest child")
    if observed_until <= 0:
        raise InputError(f"{model}: every dated child is dated at or before the release; there is no growth to fit")
    n_before = int(np.sum(ages < 0))
    if n_before:
        notes.append(
            f"{_children(n_before)} dated before the release (down to {ages.min():.2f} {unit}s) counted in {unit} 1"
        )
    events = np.sort(np.where(ages <= 0, placeholder_age(observed_until), ages))
    t, count = _cumulate(events, observed_until)

    if n_missing:
        notes.append(f"{n_missing} of {len(earliest)} children have no creation date and are left out")
    if n_duplicates:
        notes.append(f"{n_duplicates} duplicate child listings counted once")
    if n_multi_base:
        notes.append(f"{_children(n_multi_base)} listing several base models counted in full here")
    truncated = any(tree.truncated.get(r, False) for r in relations) or looks_truncated(len(listed))
    if truncated:
        notes.append(f"the listing ({len(listed)} children) looks truncated by a page cap: counts are a lower bound")
    return GrowthSeries(
        model=model,
        unit=unit,
        t=t,
        count=count,
        events=events,
        observed_until=observed_until,
        release_date=release,
        release_source=release_source,
        release_reason=release_reason,
        snapshot=snapshot,
        relations=relations,
        source=tree.source,
        n_listed=len(listed),
        n_missing_dates=n_missing,
        n_duplicates=n_duplicates,
        n_before_release=n_before,
        n_multi_base=n_multi_base,
        floor_dated=floor_dated,
        truncated=truncated,
        notes=notes,
    )


def series_from_events(
    model: str,
    events,
    observed_until: float,
    unit: str = "month",
    release_date: datetime | None = None,
    source: str = "events",
) -> GrowthSeries:
    """A series from event ages (in ``unit``, > 0) observed until ``observed_until``.

    For simulated or resampled data (tests, benchmarks, demos)::

        >>> s = series_from_events("demo/a", wsb.simulate_events(1.5, 0.7, 3.0, until=24), 24.0)
    """

    events = np.sort(np.asarray(events, dtype=float))
    if events.size and events[0] <= 0:
        raise InputError(f"{model}: event ages must be positive")
    t, count = _cumulate(events, float(observed_until))
    return GrowthSeries(
        model=model,
        unit=_check_unit(unit),
        t=t,
        count=count,
        events=events,
        observed_until=float(observed_until),
        release_date=release_date or datetime(2023, 1, 1, tzinfo=UTC),
        release_source="user",
        release_reason="event ages given directly",
        source=source,
    )
