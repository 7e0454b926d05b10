"""Predicted plasma ketamine concentration from an infusion schedule.

A MODEL ESTIMATE, NEVER A MEASUREMENT. The number comes from a population compartment model
fitted to other people; a given patient's level may differ widely. Label it "predicted
(model)" wherever it is shown (docs/clinical-reference.md §3).

Models: mammillary compartment models with the parameters of the open-source TCI library
opentiva (`opentiva/ketamine.py`), volumes in L/kg and rate constants per minute:
Domino (PMID 7198883, three compartments) and Clements 250 (Br J Anaesth 1981;53:27, two
compartments). Clements 250 clearance is about 80 L/h at 70 kg, matching the meta-analytic
79 L/h (Kamp et al., Anesthesiology 2020;133:1192).

Method: the drug amounts x (mg) in the compartments obey dx/dt = A x + b u(t), with u the
infusion rate in mg/min. Between breakpoints u is constant, so the state is augmented with u
(du/dt = 0) and the exact solution over any interval δ is expm(M δ) applied to [x; u]. This
works even when A is singular (the unused third compartment of a two-compartment model). M is
diagonalised once, so all requested times cost one vectorised product (see `_propagators`).
Concentration = x1 / (V1 × weight) in mg/L = µg/mL, × 1000 for ng/mL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import scipy.linalg

from ketaclinic.infusions.dosing import WEIGHT_KG_MAX, WEIGHT_KG_MIN

# Plasma levels for dissociation (Zanos et al., Pharmacol Rev 2018;70:621, Table 1; Bowdle et
# al., Anesthesiology 1998), docs/clinical-reference.md §3. For display beside a prediction only.
DISSOCIATION_BAND_LOW_NG_PER_ML: Final = 100.0
DISSOCIATION_BAND_HIGH_NG_PER_ML: Final = 250.0

# Above this condition number of the eigenvector matrix (or with complex eigenvalues, which a
# mammillary model cannot have) the propagators fall back to scipy's expm.
_EIG_CONDITION_MAX: Final = 1e8
_EIG_IMAG_TOLERANCE: Final = 1e-12

# mg/L (= µg/mL) to ng/mL.
_NG_PER_ML_PER_MG_PER_L: Final = 1000.0
_COMPARTMENTS: Final = 3


class PkInputError(ValueError):
    """A schedule, weight or time the model cannot take (the message names it)."""


@dataclass(frozen=True)
class ModelParams:
    """A mammillary compartment model: central volume in L/kg, rate constants per minute.

    A two-compartment model leaves k13 and k31 at zero.
    """

    name: str
    source: str
    v1_l_per_kg: float
    k10_per_min: float
    k12_per_min: float
    k21_per_min: float
    k13_per_min: float = 0.0
    k31_per_min: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.v1_l_per_kg) and self.v1_l_per_kg > 0):
            raise PkInputError(f"v1_l_per_kg must be positive, got {self.v1_l_per_kg!r}.")
        for field in ("k10_per_min", "k12_per_min", "k21_per_min", "k13_per_min", "k31_per_min"):
            value = getattr(self, field)
            if not (math.isfinite(value) and value >= 0):
                raise PkInputError(f"{field} must be zero or positive, got {value!r}.")

    def rate_matrix_per_min(self) -> npt.NDArray[np.float64]:
        """A in dx/dt = A x + b u, with x the mg in the central, second and third compartments."""
        return np.array(
            [
                [
                    -(self.k10_per_min + self.k12_per_min + self.k13_per_min),
                    self.k21_per_min,
                    self.k31_per_min,
                ],
                [self.k12_per_min, -self.k21_per_min, 0.0],
                [self.k13_per_min, 0.0, -self.k31_per_min],
            ],
            dtype=np.float64,
        )


# docs/clinical-reference.md §3 table, as parameterised in opentiva/ketamine.py.
DOMINO: Final = ModelParams(
    name="Domino",
    source="Domino et al. (PMID 7198883), parameters as in opentiva/ketamine.py",
    v1_l_per_kg=0.063,
    k10_per_min=0.4381,
    k12_per_min=0.5921,
    k21_per_min=0.2470,
    k13_per_min=0.5900,
    k31_per_min=0.0146,
)
CLEMENTS_250: Final = ModelParams(
    name="Clements 250",
    source="Clements et al., Br J Anaesth 1981;53:27, parameters as in opentiva/ketamine.py",
    v1_l_per_kg=1.7522,
    k10_per_min=0.0109,
    k12_per_min=0.0186,
    k21_per_min=0.0137,
)


def _finite(field: str, value: float) -> float:
    if isinstance(value, bool) or not math.isfinite(value):
        raise PkInputError(f"{field} must be a finite number, got {value!r}.")
    return float(value)


def _checked_schedule(
    segments: Sequence[tuple[float, float, float]],
    boluses: Sequence[tuple[float, float]],
) -> tuple[list[tuple[float, float, float]], list[tuple[float, float]]]:
    checked_segments = []
    for start_min, end_min, rate_mg_per_min in segments:
        start = _finite("segment start_min", start_min)
        end = _finite("segment end_min", end_min)
        rate = _finite("segment rate_mg_per_min", rate_mg_per_min)
        if start < 0:
            raise PkInputError(f"segment start_min must not be negative, got {start_min!r}.")
        if end <= start:
            raise PkInputError(f"segment end_min ({end_min!r}) must be after start_min ({start_min!r}).")
        if rate < 0:
            raise PkInputError(f"segment rate_mg_per_min must not be negative, got {rate!r}.")
        checked_segments.append((start, end, rate))
    checked_boluses = []
    for t_min, mg in boluses:
        at = _finite("bolus t_min", t_min)
        amount = _finite("bolus mg", mg)
        if at < 0:
            raise PkInputError(f"bolus t_min must not be negative, got {t_min!r}.")
        if amount < 0:
            raise PkInputError(f"bolus mg must not be negative, got {mg!r}.")
        checked_boluses.append((at, amount))
    return checked_segments, checked_boluses


def _propagators(augmented: npt.NDArray[np.float64], durations_min: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """expm(M δ) for every δ in `durations_min`, stacked along the first axis.

    A compartment model's rate matrix has real, distinct, non-positive eigenvalues, so M is
    diagonalised once (M = V Λ V⁻¹) and each δ costs one product, V e^{Λδ} V⁻¹, instead of a
    Padé evaluation per δ (the chairside page asks for a few hundred times per render). A state
    that is all zeros in M (the unused third compartment of a two-compartment model) is left
    out of the decomposition, where it would repeat the eigenvalue 0; its propagator is the
    identity. If the decomposition is ill-conditioned, scipy's expm is used for every δ.
    """
    size = augmented.shape[0]
    if durations_min.size == 0:
        return np.zeros((0, size, size), dtype=np.float64)
    active = np.array([bool(np.any(augmented[i]) or np.any(augmented[:, i])) for i in range(size)])
    sub = augmented[np.ix_(active, active)]
    eigenvalues, vectors = np.linalg.eig(sub)
    if np.linalg.cond(vectors) < _EIG_CONDITION_MAX and np.all(np.abs(eigenvalues.imag) < _EIG_IMAG_TOLERANCE):
        inverse = np.linalg.inv(vectors)
        scaled = np.exp(eigenvalues[np.newaxis, :] * durations_min[:, np.newaxis])
        sub_props = np.real((vectors[np.newaxis] * scaled[:, np.newaxis, :]) @ inverse)
        result = np.broadcast_to(np.eye(size), (durations_min.size, size, size)).copy()
        result[np.ix_(np.arange(durations_min.size), active, active)] = sub_props
        return result
    stacked = augmented[np.newaxis] * durations_min[:, np.newaxis, np.newaxis]
    return np.asarray(scipy.linalg.expm(stacked), dtype=np.float64)


def predict_concentration_ng_per_ml(
    model: ModelParams,
    weight_kg: float,
    segments: Sequence[tuple[float, float, float]],
    boluses: Sequence[tuple[float, float]],
    times_min: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Predicted plasma concentration (ng/mL) at each of `times_min`.

    `segments` are (start_min, end_min, rate_mg_per_min): the pump runs at that rate from start
    to end; overlapping segments add (two lines into one patient). `boluses` are (t_min, mg),
    given instantly, so the concentration at t_min already includes the bolus. Time 0 is the
    origin, with no drug in the body before it; times and schedule must not be negative.
    The result has the shape of `times_min`.
    """
    weight = _finite("weight_kg", weight_kg)
    if not WEIGHT_KG_MIN <= weight <= WEIGHT_KG_MAX:
        raise PkInputError(
            f"weight_kg of {weight_kg!r} is outside the plausible range {WEIGHT_KG_MIN:g}–{WEIGHT_KG_MAX:g} kg."
        )
    checked_segments, checked_boluses = _checked_schedule(segments, boluses)
    times = np.asarray(times_min, dtype=np.float64)
    if not np.all(np.isfinite(times)):
        raise PkInputError("times_min must all be finite.")
    if np.any(times < 0):
        raise PkInputError("times_min must not be negative.")

    # Breakpoints: where the input rate can change or a bolus lands, plus the origin.
    breakpoints_min = np.unique(
        np.array(
            [0.0] + [t for start, end, _ in checked_segments for t in (start, end)] + [at for at, _ in checked_boluses],
            dtype=np.float64,
        )
    )
    # Input rate on [breakpoint_i, breakpoint_i+1), summed over overlapping segments.
    rate_mg_per_min = np.zeros(breakpoints_min.size, dtype=np.float64)
    for start, end, rate in checked_segments:
        rate_mg_per_min[(breakpoints_min >= start) & (breakpoints_min < end)] += rate
    bolus_mg = np.zeros(breakpoints_min.size, dtype=np.float64)
    for at, amount in checked_boluses:
        bolus_mg[np.searchsorted(breakpoints_min, at)] += amount

    # Augmented system z = [x1, x2, x3, u]: dz/dt = M z, with u constant between breakpoints.
    augmented = np.zeros((_COMPARTMENTS + 1, _COMPARTMENTS + 1), dtype=np.float64)
    augmented[:_COMPARTMENTS, :_COMPARTMENTS] = model.rate_matrix_per_min()
    augmented[0, _COMPARTMENTS] = 1.0  # the infusion enters the central compartment

    # State just after each breakpoint (bolus included), stepping interval by interval.
    intervals_min = np.diff(breakpoints_min)
    propagators = _propagators(augmented, intervals_min)
    states = np.zeros((breakpoints_min.size, _COMPARTMENTS + 1), dtype=np.float64)
    amounts_mg = np.zeros(_COMPARTMENTS, dtype=np.float64)
    for index in range(breakpoints_min.size):
        amounts_mg[0] += bolus_mg[index]
        states[index, :_COMPARTMENTS] = amounts_mg
        states[index, _COMPARTMENTS] = rate_mg_per_min[index]
        if index < intervals_min.size:
            amounts_mg = (propagators[index] @ states[index])[:_COMPARTMENTS]

    flat_times = times.ravel()
    if flat_times.size == 0:
        return np.zeros(times.shape, dtype=np.float64)
    interval_index = np.searchsorted(breakpoints_min, flat_times, side="right") - 1
    since_breakpoint_min = flat_times - breakpoints_min[interval_index]
    at_times = _propagators(augmented, since_breakpoint_min)
    central_mg = np.einsum("tj,tj->t", at_times[:, 0, :], states[interval_index])
    central_volume_l = model.v1_l_per_kg * weight
    concentration = central_mg / central_volume_l * _NG_PER_ML_PER_MG_PER_L
    return np.asarray(concentration.reshape(times.shape), dtype=np.float64)
