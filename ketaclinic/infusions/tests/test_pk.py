"""Predicted plasma concentration: the matrix-exponential solution against an independent ODE
integration, the reference check from docs/clinical-reference.md §3, and closed-form limits."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from ketaclinic.infusions import pk
from ketaclinic.infusions.pk import (
    CLEMENTS_250,
    DISSOCIATION_BAND_HIGH_NG_PER_ML,
    DISSOCIATION_BAND_LOW_NG_PER_ML,
    DOMINO,
    ModelParams,
    PkInputError,
    predict_concentration_ng_per_ml,
)

MODELS = [pytest.param(CLEMENTS_250, id="clements"), pytest.param(DOMINO, id="domino")]

# Two titrations, a 15-minute pause (45–60) and two boluses, one of them at the resume.
SEGMENTS = [(0.0, 20.0, 0.5), (20.0, 45.0, 1.2), (60.0, 90.0, 0.7)]
BOLUSES = [(5.0, 10.0), (60.0, 7.0)]


def integrate_reference(
    model: ModelParams,
    weight_kg: float,
    segments: Sequence[tuple[float, float, float]],
    boluses: Sequence[tuple[float, float]],
    times_min: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Integrate the compartment ODEs numerically, written out from the rate constants.

    Independent of the code under test: no matrix, no expm. The integration restarts at each
    change of input, where a bolus is added to the central compartment.
    """
    k10, k12, k21 = model.k10_per_min, model.k12_per_min, model.k21_per_min
    k13, k31 = model.k13_per_min, model.k31_per_min

    def rate_at(t: float) -> float:
        return sum(rate for start, end, rate in segments if start <= t < end)

    def derivatives(_t: float, x: npt.NDArray[np.float64], u: float) -> list[float]:
        x1, x2, x3 = x
        return [
            u - (k10 + k12 + k13) * x1 + k21 * x2 + k31 * x3,
            k12 * x1 - k21 * x2,
            k13 * x1 - k31 * x3,
        ]

    edges = sorted(
        {0.0, float(times_min.max())}
        | {t for start, end, _ in segments for t in (start, end)}
        | {t for t, _ in boluses}
    )
    result = np.zeros_like(times_min)
    state = np.zeros(3)
    for left, right in zip(edges, edges[1:] + [math.inf], strict=True):
        state[0] += sum(mg for t, mg in boluses if t == left)
        in_piece = (times_min >= left) & (times_min < right)
        end = right if math.isfinite(right) else left
        if end > left:
            solution = solve_ivp(
                derivatives,
                (left, end),
                state,
                args=(rate_at(left),),
                method="LSODA",
                rtol=1e-11,
                atol=1e-12,
                dense_output=True,
            )
            assert solution.success
            assert solution.sol is not None
            if in_piece.any():
                result[in_piece] = solution.sol(times_min[in_piece])[0]
            state = solution.y[:, -1].copy()
        elif in_piece.any():
            result[in_piece] = state[0]
    return result / (model.v1_l_per_kg * weight_kg) * 1000.0


@pytest.mark.parametrize("model", MODELS)
def test_prediction_matches_an_independent_ode_solution(model: ModelParams) -> None:
    times = np.unique(np.concatenate([np.linspace(0, 240, 241), [5, 20, 45, 60, 90, 33.3]]))
    predicted = predict_concentration_ng_per_ml(model, 70, SEGMENTS, BOLUSES, times)
    reference = integrate_reference(model, 70, SEGMENTS, BOLUSES, times)
    assert reference.max() > 50  # the comparison covers clinically sized values
    np.testing.assert_allclose(predicted, reference, rtol=1e-4, atol=1e-9)


def test_reference_check_clements_70_kg_half_mg_per_kg_over_40_min() -> None:
    # docs/clinical-reference.md §3: 0.5 mg/kg × 70 kg = 35 mg over 40 min (0.875 mg/min)
    # gives ~177 ng/mL at 40 min with Clements (185 ng/mL measured, Zanos 2018 Table 1).
    at_40_min = predict_concentration_ng_per_ml(CLEMENTS_250, 70, [(0, 40, 35 / 40)], [], np.array([40.0]))[0]
    assert 177 * 0.95 <= at_40_min <= 177 * 1.05
    assert at_40_min == pytest.approx(177.3, abs=0.05)


@pytest.mark.parametrize("model", MODELS)
def test_zero_input_gives_zero_concentration(model: ModelParams) -> None:
    times = np.linspace(0, 600, 61)
    assert np.array_equal(predict_concentration_ng_per_ml(model, 70, [], [], times), np.zeros(61))
    zero_rate = predict_concentration_ng_per_ml(model, 70, [(0, 60, 0.0)], [(10, 0.0)], times)
    assert np.array_equal(zero_rate, np.zeros(61))


@pytest.mark.parametrize("model", MODELS)
def test_nothing_is_predicted_before_the_first_input(model: ModelParams) -> None:
    times = np.array([0.0, 10.0, 29.999])
    predicted = predict_concentration_ng_per_ml(model, 70, [(30, 60, 1.0)], [(45, 5)], times)
    assert np.array_equal(predicted, np.zeros(3))


@pytest.mark.parametrize("model", MODELS)
def test_a_bolus_alone_starts_at_dose_over_central_volume(model: ModelParams) -> None:
    # At the instant of a 35 mg bolus into 70 kg: 35 mg ÷ (V1 × 70 kg) L, × 1000 for ng/mL.
    predicted = predict_concentration_ng_per_ml(model, 70, [], [(10, 35)], np.array([10.0]))
    assert predicted[0] == pytest.approx(35 / (model.v1_l_per_kg * 70) * 1000, rel=1e-12)


@pytest.mark.parametrize("model", MODELS)
def test_long_infusion_reaches_rate_over_clearance(model: ModelParams) -> None:
    # Steady state of a mammillary model: C = R / CL with CL = k10 × V1 × weight.
    rate_mg_per_min = 1.0
    expected = rate_mg_per_min / (model.k10_per_min * model.v1_l_per_kg * 70) * 1000
    predicted = predict_concentration_ng_per_ml(model, 70, [(0, 30_000, rate_mg_per_min)], [], np.array([30_000.0]))
    assert predicted[0] == pytest.approx(expected, rel=1e-6)


def test_clements_clearance_is_about_80_l_per_h_at_70_kg() -> None:
    # docs/clinical-reference.md §3: ≈80 L/h, matching the meta-analytic 79 L/h (Kamp 2020).
    clearance_l_per_h = CLEMENTS_250.k10_per_min * CLEMENTS_250.v1_l_per_kg * 70 * 60
    assert clearance_l_per_h == pytest.approx(80, abs=1)


@pytest.mark.parametrize("model", MODELS)
def test_concentration_is_linear_in_dose(model: ModelParams) -> None:
    times = np.linspace(0, 240, 49)
    single = predict_concentration_ng_per_ml(model, 70, SEGMENTS, BOLUSES, times)
    doubled = predict_concentration_ng_per_ml(
        model,
        70,
        [(start, end, 2 * rate) for start, end, rate in SEGMENTS],
        [(t, 2 * mg) for t, mg in BOLUSES],
        times,
    )
    np.testing.assert_allclose(doubled, 2 * single, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", MODELS)
def test_same_mg_in_twice_the_weight_halves_the_concentration(model: ModelParams) -> None:
    times = np.linspace(0, 240, 49)
    light = predict_concentration_ng_per_ml(model, 60, SEGMENTS, BOLUSES, times)
    heavy = predict_concentration_ng_per_ml(model, 120, SEGMENTS, BOLUSES, times)
    np.testing.assert_allclose(heavy, light / 2, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", MODELS)
def test_overlapping_segments_add(model: ModelParams) -> None:
    times = np.linspace(0, 180, 37)
    first = [(0.0, 60.0, 0.5)]
    second = [(30.0, 90.0, 0.25)]
    together = predict_concentration_ng_per_ml(model, 70, first + second, [], times)
    apart = predict_concentration_ng_per_ml(model, 70, first, [], times) + predict_concentration_ng_per_ml(
        model, 70, second, [], times
    )
    np.testing.assert_allclose(together, apart, rtol=1e-10, atol=1e-12)


def test_result_has_the_shape_of_the_times() -> None:
    grid = np.array([[0.0, 10.0, 20.0], [30.0, 40.0, 50.0]])
    predicted = predict_concentration_ng_per_ml(CLEMENTS_250, 70, [(0, 40, 0.875)], [], grid)
    assert predicted.shape == (2, 3)
    assert predicted[1, 1] == pytest.approx(177.3, abs=0.05)
    assert predict_concentration_ng_per_ml(CLEMENTS_250, 70, [], [], np.array([])).shape == (0,)


def test_plain_list_of_times_is_accepted() -> None:
    predicted = predict_concentration_ng_per_ml(CLEMENTS_250, 70, [(0, 40, 0.875)], [], [40])
    assert predicted.dtype == np.float64
    assert predicted[0] == pytest.approx(177.3, abs=0.05)


def test_concentration_falls_after_the_infusion_stops() -> None:
    times = np.linspace(40, 400, 37)
    predicted = predict_concentration_ng_per_ml(CLEMENTS_250, 70, [(0, 40, 0.875)], [], times)
    assert np.all(np.diff(predicted) < 0)


def test_dissociation_band_constants() -> None:
    # Zanos 2018 Table 1 / Bowdle 1998: dissociation 100–250 ng/mL.
    assert (DISSOCIATION_BAND_LOW_NG_PER_ML, DISSOCIATION_BAND_HIGH_NG_PER_ML) == (100.0, 250.0)


def test_model_tables_match_the_reference() -> None:
    # docs/clinical-reference.md §3 table.
    assert (DOMINO.v1_l_per_kg, DOMINO.k10_per_min, DOMINO.k12_per_min) == (0.063, 0.4381, 0.5921)
    assert (DOMINO.k13_per_min, DOMINO.k21_per_min, DOMINO.k31_per_min) == (0.59, 0.247, 0.0146)
    assert (CLEMENTS_250.v1_l_per_kg, CLEMENTS_250.k10_per_min) == (1.7522, 0.0109)
    assert (CLEMENTS_250.k12_per_min, CLEMENTS_250.k21_per_min) == (0.0186, 0.0137)
    assert (CLEMENTS_250.k13_per_min, CLEMENTS_250.k31_per_min) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("segments", "boluses", "times", "message"),
    [
        ([], [], [-1.0], "times_min must not be negative"),
        ([], [], [math.nan], "times_min must all be finite"),
        ([(10, 10, 1.0)], [], [0.0], "end_min .* must be after start_min"),
        ([(10, 5, 1.0)], [], [0.0], "end_min .* must be after start_min"),
        ([(-5, 5, 1.0)], [], [0.0], "start_min must not be negative"),
        ([(0, 5, -1.0)], [], [0.0], "rate_mg_per_min must not be negative"),
        ([(0, math.inf, 1.0)], [], [0.0], "end_min must be a finite number"),
        ([(0, 5, math.nan)], [], [0.0], "rate_mg_per_min must be a finite number"),
        ([], [(-1, 5.0)], [0.0], "bolus t_min must not be negative"),
        ([], [(1, -5.0)], [0.0], "bolus mg must not be negative"),
        ([], [(1, math.nan)], [0.0], "bolus mg must be a finite number"),
    ],
)
def test_impossible_schedules_are_refused(
    segments: list[tuple[float, float, float]],
    boluses: list[tuple[float, float]],
    times: list[float],
    message: str,
) -> None:
    with pytest.raises(PkInputError, match=message):
        predict_concentration_ng_per_ml(CLEMENTS_250, 70, segments, boluses, times)


@pytest.mark.parametrize("weight", [0, 19.9, 350.1, math.nan, -70])
def test_implausible_weight_is_refused(weight: float) -> None:
    with pytest.raises(PkInputError, match="weight_kg"):
        predict_concentration_ng_per_ml(CLEMENTS_250, weight, [(0, 40, 1.0)], [], [40])


@pytest.mark.parametrize(("field", "value"), [("v1_l_per_kg", 0.0), ("v1_l_per_kg", -1.0), ("k10_per_min", -0.1)])
def test_model_parameters_must_be_physical(field: str, value: float) -> None:
    values = {"v1_l_per_kg": 1.0, "k10_per_min": 0.01, "k12_per_min": 0.01, "k21_per_min": 0.01}
    with pytest.raises(PkInputError, match=field):
        ModelParams("test", "test", **(values | {field: value}))


# Schedules charted to the half minute, rates to 0.05 mg/min and boluses to 0.5 mg, as a nurse
# records them.
half_minutes = st.integers(min_value=0, max_value=400).map(lambda n: n / 2)
rates_mg_per_min = st.integers(min_value=0, max_value=60).map(lambda n: n / 20)
bolus_amounts_mg = st.integers(min_value=0, max_value=100).map(lambda n: n / 2)
segment_strategy = st.lists(
    st.tuples(half_minutes, st.integers(min_value=1, max_value=240), rates_mg_per_min).map(
        lambda s: (s[0], s[0] + s[1] / 2, s[2])
    ),
    max_size=4,
)
bolus_strategy = st.lists(st.tuples(half_minutes, bolus_amounts_mg), max_size=3)


@settings(deadline=None, max_examples=25)
@given(segment_strategy, bolus_strategy, st.sampled_from([CLEMENTS_250, DOMINO]))
def test_prediction_is_never_negative_and_matches_the_ode(
    segments: list[tuple[float, float, float]],
    boluses: list[tuple[float, float]],
    model: ModelParams,
) -> None:
    times = np.linspace(0, 400, 41)
    predicted = predict_concentration_ng_per_ml(model, 70, segments, boluses, times)
    assert np.all(predicted >= -1e-9)
    reference = integrate_reference(model, 70, segments, boluses, times)
    np.testing.assert_allclose(predicted, reference, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("model", [CLEMENTS_250, DOMINO])
def test_diagonalised_propagators_equal_scipy_expm(model: ModelParams) -> None:
    """The fast path (one eigendecomposition) gives the matrix exponential scipy computes."""
    augmented = np.zeros((4, 4))
    augmented[:3, :3] = model.rate_matrix_per_min()
    augmented[0, 3] = 1.0
    durations = np.array([0.0, 0.5, 2.0, 37.3, 240.0])
    expected = np.asarray(scipy.linalg.expm(augmented[np.newaxis] * durations[:, np.newaxis, np.newaxis]))
    np.testing.assert_allclose(pk._propagators(augmented, durations), expected, rtol=1e-9, atol=1e-12)
