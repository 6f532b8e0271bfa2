"""Names of the utilisation measures and outcomes, the events behind them and their labels."""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

#: Measure name -> (event in ``derive_events`` output, how it is counted in a window).
UTILISATION: MappingProxyType[str, tuple[str, Literal["count", "nights"]]] = MappingProxyType(
    {
        "emergency_admissions": ("emergency_admission", "count"),
        "avoidable_emergency_admissions": ("avoidable_emergency_admission", "count"),
        "elective_admissions": ("elective_admission", "count"),
        "ae_attendances": ("ae_attendance", "count"),
        "op_attendances": ("op_attendance", "count"),
        "bed_days": ("bed_days", "nights"),
    }
)

#: Outcomes the cohort builder can count (utilisation measures plus ``deaths``).
OUTCOMES: tuple[str, ...] = (*UTILISATION, "deaths")

MEASURE_LABELS: MappingProxyType[str, str] = MappingProxyType(
    {
        "emergency_admissions": "Emergency admissions",
        "avoidable_emergency_admissions": "Potentially avoidable emergency admissions",
        "elective_admissions": "Elective admissions",
        "ae_attendances": "A&E attendances",
        "op_attendances": "Outpatient attendances",
        "bed_days": "Nights in hospital",
        "deaths": "Died during follow-up",
    }
)

EXPOSURE = "person_years"
EXPOSURE_LABEL = "Person-years of follow-up"
