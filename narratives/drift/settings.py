"""The drift engine's settings (the ``[drift]`` table of a training configuration) and the record
of how a run's drift tables were computed."""

from __future__ import annotations

from dataclasses import dataclass, field

from narratives.validation import check_bool, check_choice, check_float, check_int

PERIODS = ("day", "week", "month", "quarter", "year")
PERIOD_CHOICES = ("auto", *PERIODS)


@dataclass(frozen=True)
class DriftSettings:
    """Thresholds of the drift engine; every one can be set from the config or the CLI."""

    period: str = "auto"
    by_source: bool = True
    alpha: float = 0.05
    min_change: float = 0.02
    min_docs: int = 3
    small_period_docs: int = 10
    baseline_periods: int = 6
    change_point_penalty: float = 6.0

    def __post_init__(self) -> None:
        check_choice(self.period, "period", PERIOD_CHOICES)
        check_bool(self.by_source, "by_source")
        check_float(self.alpha, "alpha", low=0, high=1, open_low=True, open_high=True)
        check_float(self.min_change, "min_change", low=0)
        check_int(self.min_docs, "min_docs", low=1)
        check_int(self.small_period_docs, "small_period_docs", low=1)
        check_int(self.baseline_periods, "baseline_periods", low=1)
        check_float(self.change_point_penalty, "change_point_penalty", low=0, open_low=True)


@dataclass(frozen=True)
class DriftInfo:
    """How a run's drift tables were computed (run.json's ``drift``)."""

    period: str = "month"
    n_undated_documents: int = 0
    settings: DriftSettings = field(default_factory=DriftSettings)
    tables: tuple[str, ...] = ()
