"""The fixed synthetic world: dates, areas, providers, code sets and rate curves.

Everything here is a constant that the demo configuration and the tests rely on
(``docs/dev/interfaces.md``, "Synthetic data"). Rates are per person-year unless stated.
Sources of the realism targets: DATA_CONTRACT.md §7.7 and nhs_routine_data.md §1.2-1.7,
§3.1-3.2 ([S20] Rushcliffe report, [S20b] Nottingham City, [S21] BMJ Qual Saf 2019, [S22]
IAU briefing 2019, [S23] Northumberland, [S34] QualityWatch 2013).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1970, 1, 1)


def day(value: dt.date) -> int:
    """Days since 1970-01-01 (the integer behind Arrow ``date32``)."""
    return (value - EPOCH).days


DATA_START = dt.date(2012, 1, 1)
DATA_CUT = dt.date(2016, 8, 31)
MOVE_IN_START = dt.date(2013, 1, 1)
MOVE_IN_END = DATA_CUT
START_DAY = day(DATA_START)
CUT_DAY = day(DATA_CUT)
#: Exclusive end of the observed period (events happen on days ``< END_DAY``).
END_DAY = CUT_DAY + 1
MOVE_IN_START_DAY = day(MOVE_IN_START)
YEAR = 365.25
#: Calendar-year boundaries used as piecewise-constant rate segments for the general population.
YEAR_BOUNDS = np.array(
    [day(dt.date(y, 1, 1)) for y in range(2012, 2017)] + [END_DAY], dtype=np.int64
)
NEVER = np.iinfo(np.int64).max // 4

INTERVENTION_AREA = "04N"
COMPARISON_AREAS = ("03W", "04C", "10X", "06H", "06Q", "99E")
OTHER_AREAS = ("00L", "01H", "02Q", "03N", "05D", "07K", "08H", "09A", "11M", "12F", "13T", "14L")
AREAS = (INTERVENTION_AREA, *COMPARISON_AREAS, *OTHER_AREAS)
#: Share of the general population living in each area (04N, 6 comparison, 12 others).
AREA_WEIGHTS = np.array([4.0] + [4.0] * 6 + [6.0] * 12)
#: Mean IMD decile of an area's LSOAs (Rushcliffe and its comparators are affluent).
AREA_IMD_MEAN = np.array([7.2] + [6.8] * 6 + [5.5] * 12)
AREA_RURAL = np.array([0.35] + [0.35] * 6 + [0.25] * 12)
#: Letter that starts the GP practice codes of each area.
AREA_GP_LETTER = "CKCKHJMPLNAMBDEFGY"

TRUSTS = (
    "RX1",
    "RK5",
    "RWE",
    "RGT",
    "RAJ",
    "RQ8",
    "RN5",
    "RDD",
    "RTD",
    "RR8",
    "RTH",
    "RHM",
    "RBZ",
    "RA7",
    "RWD",
    "RJE",
    "RKB",
    "RNS",
    "RTG",
    "RXK",
    "RVR",
    "RP5",
    "RJ1",
    "RM1",
)

#: Care-home movers as a share of all persons; their split over 04N / comparison / other areas.
CARE_HOME_SHARE = 0.10
#: Expected new residents per care home over the move-in window (sets the number of homes).
MOVERS_PER_HOME = 25.0
INTERVENTION_HOME_SHARE = 0.85
#: Persons generated but left out of ``persons`` (their events become unlinkable rows).
ORPHAN_SHARE = 0.005

# --- general-population rate curves (per person-year) by age --------------------------------
AGE_KNOTS = np.array([0, 1, 5, 15, 25, 45, 65, 75, 85, 95], dtype=float)
RATE_EMERGENCY = np.array([0.11, 0.05, 0.035, 0.045, 0.05, 0.06, 0.10, 0.17, 0.28, 0.38])
RATE_AE_OTHER = np.array([0.48, 0.38, 0.30, 0.42, 0.37, 0.29, 0.25, 0.29, 0.37, 0.44])
RATE_ELECTIVE = np.array([0.03, 0.02, 0.03, 0.05, 0.08, 0.13, 0.24, 0.30, 0.22, 0.12])
RATE_OP = np.array([1.2, 0.7, 0.7, 1.0, 1.4, 2.0, 3.2, 4.0, 3.5, 2.5])
MORT_KNOTS = np.array([0, 1, 5, 30, 50, 65, 75, 85, 95, 105], dtype=float)
MORT_HAZARD = np.array([0.004, 0.0002, 0.0001, 0.0006, 0.0025, 0.009, 0.022, 0.065, 0.20, 0.45])

# --- care-home movers --------------------------------------------------------------------------
#: Rates while resident (and after moving out); [S22]: 0.70 emergency admissions and 0.98 A&E
#: attendances per resident-year (A&E = non-admitted + the ~65% of admissions that come via A&E).
MOVER_POST = {"em": 0.74, "ae": 0.60, "el": 0.12, "op": 1.4}
#: Rates more than a year before moving in; the last year before the move is a surge.
MOVER_PRE = {"em": 0.72, "ae": 0.55, "el": 0.30, "op": 3.0}
#: Multipliers of the pre-move rate in the four quarters before moving in (admissions often
#: precipitate a move): prior-year emergency admissions ~1.5-1.8 per resident [S21][S20b].
MOVER_SURGE = np.array([1.3, 1.8, 2.5, 3.6])
#: Bounds (days relative to moving in) of those four quarters.
PRE_QUARTERS = np.array([-365, -274, -183, -91, 0])
#: Death hazard while resident at age 85 (~38-40% die within a year [S20b]) and move-out hazard.
MOVER_DEATH = 0.62
#: Spread of movers' individual multipliers: the log-multiplier (frailty and conditions) is
#: shrunk by this factor so prior-year emergency admissions have SD ~1.1-1.6 [S21].
MOVER_SPREAD = 0.55
#: Selection of movers into the intervention area 04N (logit against comparison areas at
#: +0.875 and other areas at 0): intercept, per emergency admission in the year before the
#: move (over 1.5, capped at SELECTION_CAP), per year of age over 85. Selection is on these
#: observed quantities only, so matching on age and prior-year admissions can remove the
#: bias; it is strong enough that a naive rate ratio is ~0.95-1.1 while the truth is 0.75;
#: the cap keeps the treated's propensity scores within the controls' range.
SELECTION = (-1.55, 0.75, 0.04)
SELECTION_CAP = 4
#: Deprivation gradient: intensity multiplier 1 + slope * (5.5 - IMD decile) [S34].
EM_DEPRIVATION_SLOPE = 0.03
AE_DEPRIVATION_SLOPE = 0.05
ACSC_DEPRIVATION_SLOPE = 0.06
MOVER_MOVE_OUT = 0.08

# --- codes ---------------------------------------------------------------------------------------
EMERGENCY_METHODS = ("21", "22", "23", "24", "25", "2A", "2D", "28")
EMERGENCY_METHOD_P = np.array([0.65, 0.15, 0.01, 0.03, 0.005, 0.03, 0.07, 0.055])
ELECTIVE_METHODS = ("11", "12", "13")
ELECTIVE_METHOD_P = np.array([0.6, 0.25, 0.15])
#: ADMISORC / DISDEST codes for care-home residents (NHS-run, LA residential, non-NHS home).
CARE_HOME_SOURCES = ("54", "65", "85")
CARE_HOME_SOURCE_P = np.array([0.1, 0.2, 0.7])

#: Person-level conditions: name, ICD-10 codes (4 characters), prevalence logit at age 75
#: (intercept, per 10 years of age, per SD of latent frailty, extra for care-home movers),
#: log-multiplier on emergency/A&E intensity, log-multiplier on the death hazard.
#: Codes from the Charlson (Quan) and frailty-syndrome / HFRS lists, nhs_routine_data.md §4.
CONDITIONS: tuple[tuple[str, tuple[str, ...], float, float, float, float, float, float], ...] = (
    ("chf", ("I500", "I509", "I110"), -3.0, 0.7, 0.5, 0.3, 0.25, 0.3),
    ("copd", ("J449", "J440", "J439"), -2.6, 0.3, 0.4, 0.1, 0.3, 0.2),
    ("dementia", ("F03X", "F019", "G309", "F009"), -3.6, 1.1, 0.5, 2.2, 0.15, 0.35),
    ("cevd", ("I639", "I64X", "G459", "I694"), -3.2, 0.8, 0.4, 0.4, 0.15, 0.2),
    ("ami", ("I219", "I252"), -3.3, 0.5, 0.3, 0.0, 0.1, 0.1),
    ("diab", ("E119", "E109"), -2.2, 0.3, 0.3, 0.0, 0.1, 0.05),
    ("diabwc", ("E112", "E113", "E115"), -3.8, 0.3, 0.4, 0.1, 0.25, 0.15),
    ("rend", ("N183", "N184", "N185", "N189"), -3.3, 0.8, 0.5, 0.2, 0.25, 0.25),
    ("canc", ("C509", "C61X", "C189", "C349", "C439"), -3.3, 0.5, 0.2, 0.0, 0.2, 0.5),
    ("metacanc", ("C787", "C795", "C779"), -5.0, 0.3, 0.4, 0.0, 0.4, 1.2),
    ("pvd", ("I739", "I702"), -3.8, 0.6, 0.3, 0.1, 0.1, 0.1),
    ("rheumd", ("M069", "M059"), -4.0, 0.3, 0.2, 0.0, 0.05, 0.0),
    ("pud", ("K259", "K269"), -4.5, 0.3, 0.2, 0.0, 0.1, 0.0),
    ("mld", ("K760", "K703", "K746"), -4.5, 0.0, 0.3, 0.0, 0.15, 0.1),
    ("msld", ("I850", "K721"), -6.5, 0.0, 0.4, 0.0, 0.5, 0.8),
    ("hp", ("G819", "G822"), -5.0, 0.3, 0.3, 0.3, 0.2, 0.1),
    ("anx_dep", ("F329", "F419", "F331"), -2.5, 0.1, 0.4, 0.5, 0.1, 0.0),
    ("delirium", ("F050", "F059"), -4.5, 1.0, 0.6, 1.0, 0.2, 0.2),
    ("dependence", ("Z740", "Z750"), -4.0, 1.0, 0.7, 1.2, 0.2, 0.15),
    ("falls", ("R296", "W19X", "S720", "S422"), -3.5, 0.9, 0.6, 1.2, 0.2, 0.1),
    ("incontinence", ("R32X", "R15X"), -4.0, 0.9, 0.5, 0.8, 0.1, 0.05),
    ("mobility", ("R268", "R269"), -4.0, 1.0, 0.6, 1.0, 0.15, 0.1),
    ("pressure_ulcers", ("L891", "L892", "L899"), -5.0, 1.0, 0.8, 0.8, 0.2, 0.2),
    ("senility", ("R54X",), -4.5, 1.2, 0.6, 0.8, 0.1, 0.2),
)

#: ACSC primary diagnoses (nhs_routine_data.md §4.4, Strategy Unit regexes) with weights.
ACSC_PRIMARY = (
    ("J181", 3.0),
    ("J188", 2.0),
    ("J440", 3.0),
    ("J441", 2.0),
    ("I509", 2.0),
    ("I110", 0.5),
    ("N10X", 1.5),
    ("N12X", 0.5),
    ("L031", 2.0),
    ("E86X", 1.5),
    ("G409", 1.0),
    ("J459", 1.0),
    ("I209", 1.0),
    ("D509", 0.5),
    ("K529", 1.0),
    ("R02X", 0.2),
    ("H669", 0.5),
    ("J039", 0.5),
)
#: Other emergency primary diagnoses.
EMERGENCY_PRIMARY = (
    ("R074", 3.0),
    ("R104", 2.5),
    ("S720", 1.5),
    ("N390", 2.5),
    ("R55X", 1.5),
    ("R296", 1.0),
    ("A419", 1.0),
    ("I214", 1.0),
    ("I639", 1.0),
    ("K297", 0.5),
    ("R069", 1.0),
    ("K922", 0.5),
    ("F059", 0.5),
    ("S060", 0.7),
    ("R410", 0.5),
    ("J690", 0.5),
    ("N179", 0.7),
    ("K590", 0.5),
    ("E871", 0.5),
    ("I480", 1.0),
    ("R509", 0.7),
    ("T189", 0.2),
    ("S009", 0.8),
)
ELECTIVE_PRIMARY = (
    ("H251", 3.0),
    ("M171", 1.5),
    ("M161", 1.0),
    ("K802", 1.0),
    ("C509", 0.8),
    ("K635", 1.5),
    ("N400", 0.8),
    ("Z511", 1.5),
    ("K409", 1.0),
    ("R195", 0.8),
    ("D259", 0.5),
    ("M233", 0.7),
    ("I839", 0.5),
    ("K210", 0.8),
    ("C61X", 0.5),
    ("N200", 0.5),
)
#: Secondary codes that are not person-level conditions (hypertension, lipids, history ...).
OTHER_SECONDARY = (
    "I10X",
    "E785",
    "Z864",
    "Z921",
    "K219",
    "M199",
    "H269",
    "E039",
    "Z966",
    "Z867",
    "E669",
    "Z880",
    "F172",
    "Z950",
    "D649",
    "E559",
    "M810",
    "Z853",
    "H409",
    "G473",
)
ELECTIVE_PROCEDURES = (
    "C751",
    "W401",
    "W371",
    "H221",
    "G451",
    "J183",
    "M452",
    "X352",
    "T202",
    "Q071",
    "H201",
    "M651",
    "L852",
    "W822",
)
EMERGENCY_PROCEDURES = (
    "U051",
    "U071",
    "X292",
    "W241",
    "W461",
    "G451",
    "H221",
    "E851",
    "X334",
    "K634",
)
EMERGENCY_SPECIALTIES = ("300", "430", "100", "110", "320", "420", "180")
ELECTIVE_SPECIALTIES = ("100", "101", "110", "130", "301", "370", "502")
OP_SPECIALTIES = (
    "100",
    "101",
    "110",
    "130",
    "300",
    "301",
    "320",
    "330",
    "340",
    "370",
    "420",
    "502",
    "430",
)
AE_DIAGNOSES = tuple(f"{i:02d}" for i in range(1, 40))
DEATH_OTHER_CAUSES = (
    "I219",
    "J189",
    "I64X",
    "R54X",
    "I259",
    "J449",
    "C349",
    "A419",
    "N390",
    "I269",
)
