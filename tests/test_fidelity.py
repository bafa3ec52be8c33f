"""Cheap-first fidelity: excerpts first, full length for the promoted candidates (in-process)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from inprocess import N_TRACKS, RATE, Script, study_config, write_noise_tracks
from sliceq22 import TARGETS
from sliceq22.errors import Sliceq22Error, StudyFileError
from sliceq22.search.driver import StudyDriver
from sliceq22.search.evaluator import LocalEvaluator
from sliceq22.search.fidelity import promotion
from sliceq22.search.sections import FidelitySection
from sliceq22.search.trialattrs import trial_attrs


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_noise_tracks(tmp_path_factory.mktemp("fidelity"))


FULL = RATE // 4  # samples of a full track of the folder fixture
EXCERPT = 0.15  # seconds


def _fidelity(promote: float = 0.5, startup: int = 2) -> str:
    return f"[fidelity]\nexcerpt = {EXCERPT}\npromote = {promote}\nstartup = {startup}"


class LengthScript(Script):
    """Records the track lengths each evaluation was handed (excerpts or full tracks)."""

    def __call__(self, family, params, rate, tracks, objective):  # type: ignore[override]
        self.lengths = getattr(self, "lengths", [])
        self.lengths.append({t.length for t in tracks})
        yield from super().__call__(family, params, rate, tracks, objective)


def _run(config, script, storage=None):
    storage = storage or optuna.storages.InMemoryStorage()
    summary = StudyDriver(config, storage, progress=False, evaluator=LocalEvaluator(script)).run()
    return summary, optuna.load_study(study_name=config.name, storage=storage)


def test_excerpts_first_and_only_promoted_candidates_reach_the_full_tracks(folder: Path) -> None:
    script = LengthScript()
    summary, study = _run(study_config(folder, trials=8, extra=_fidelity()), script)
    excerpt = round(EXCERPT * RATE)
    # memoised trials (a candidate drawn again) take the earlier result: no stage of their own
    evaluated = [t for t in study.trials if "memo_of" not in trial_attrs(t)]
    assert all("fidelity" in t.user_attrs for t in evaluated) and len(evaluated) >= 5
    # every evaluation started on the excerpts; promoted ones went on to the full tracks
    promoted = [t for t in evaluated if t.user_attrs["fidelity"]["promoted"]]
    assert script.lengths.count({excerpt}) == len(evaluated)
    assert script.lengths.count({FULL}) == len(promoted)
    assert all(t.state == TrialState.COMPLETE for t in promoted)
    assert all(trial_attrs(t)["tracks_evaluated"] == N_TRACKS for t in promoted)
    # the first two are promoted whatever they scored (startup); the rest by rank, replayed
    # here from the stored excerpt scores in trial order
    history: list[dict[str, float]] = []
    for trial in evaluated:
        stage = trial.user_attrs["fidelity"]
        assert stage["tracks"] == N_TRACKS and stage["excerpt_seconds"] == EXCERPT
        expected, reason = promotion(
            stage["excerpt_scores"],
            history,
            FidelitySection(EXCERPT, 0.5, 2),
            shared=False,
            maximize=True,
        )
        assert (stage["promoted"], stage["reason"]) == (expected, reason)
        if not expected:
            assert trial.state == TrialState.PRUNED
            assert trial_attrs(trial)["pruned"] == f"not promoted: {reason}"
        history.append(stage["excerpt_scores"])
    assert 0 < summary.pruned_now == len(evaluated) - len(promoted)
    assert summary.completed_now - summary.memoised_now == len(promoted)


def test_a_worker_lost_after_the_last_excerpt_or_track_changes_nothing(folder: Path) -> None:
    # Every stream, excerpt or full, ends with the worker lost after its last score: each
    # stage counts its own tracks, so the study comes out as with clean ends.
    config = study_config(folder, trials=8, extra=_fidelity())
    _, clean = _run(config, Script())
    summary, lost = _run(config, Script(dies_after_last_track={256, 512, 1024, 2048}))
    assert summary.failed_now == 0
    assert [(t.state, t.values) for t in lost.trials] == [(t.state, t.values) for t in clean.trials]
    assert [t.user_attrs.get("fidelity") for t in lost.trials] == [
        t.user_attrs.get("fidelity") for t in clean.trials
    ]


def test_in_shared_mode_the_excerpt_value_is_step_zero(folder: Path) -> None:
    config = study_config(folder, mode="shared", trials=4, extra=_fidelity(promote=0.25, startup=1))
    _, study = _run(config, Script())
    evaluated = [t for t in study.trials if "memo_of" not in trial_attrs(t)]
    for trial in evaluated:
        scores = trial.user_attrs["fidelity"]["excerpt_scores"]
        shared = sum(scores[t] for t in TARGETS) / len(TARGETS)
        assert trial.intermediate_values[0] == pytest.approx(shared)
    # promote 0.25 of up to 4 candidates: rank 1 only, so after the first (startup) a
    # candidate goes on exactly when its excerpt value is at least every earlier one
    best_so_far = evaluated[0].intermediate_values[0]
    for trial in evaluated[1:]:
        value = trial.intermediate_values[0]
        assert trial.user_attrs["fidelity"]["promoted"] == (value >= best_so_far)
        best_so_far = max(best_so_far, value)


def test_an_excerpt_not_shorter_than_the_tracks_is_refused_before_anything_is_written(
    folder: Path,
) -> None:
    storage = optuna.storages.InMemoryStorage()
    config = study_config(folder, trials=2, extra="[fidelity]\nexcerpt = 0.25")
    with pytest.raises(Sliceq22Error, match="fidelity.excerpt 0.25 s is not shorter"):
        _run(config, Script(), storage)
    assert storage.get_all_studies() == []


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ("excerpt = -1", "fidelity.excerpt: -1 must be a positive number"),
        ("promote = 0", "fidelity.promote: 0 must be a positive number"),
        ("promote = 1.5", "fidelity.promote: 1.5 must be a fraction in (0, 1]"),
        ("startup = -2", "fidelity.startup: -2 must be ≥ 0"),
        ("startup = 1.5", "fidelity.startup: 1.5 must be an integer"),
        ("excerpts = 30", "fidelity.excerpts: unknown key"),
    ],
)
def test_bad_fidelity_settings_are_study_file_errors(folder: Path, table: str, says: str) -> None:
    with pytest.raises(StudyFileError) as caught:
        study_config(folder, extra=f"[fidelity]\n{table}")
    assert says in str(caught.value)


REFERENCES = """
[[reference]]
label = "big"
family = "stft"
params = { n_fft = 2048, hop = 64 }

[[reference]]
label = "small"
family = "stft"
params = { n_fft = 256, hop = 128 }
"""


def test_reference_trials_always_go_on_to_the_full_tracks(folder: Path) -> None:
    # startup 0 and promote 0.25: by rank the second reference (the smaller n_fft scores
    # lower) would stop at its excerpts; export's paired comparison needs it at full length
    extra = _fidelity(promote=0.25, startup=0) + REFERENCES
    _, study = _run(study_config(folder, mode="shared", trials=6, extra=extra), Script())
    refs = {t.user_attrs["reference"]: t for t in study.trials if "reference" in t.user_attrs}
    assert set(refs) == {"big", "small"}
    for label, trial in refs.items():
        stage = trial.user_attrs["fidelity"]
        assert stage["promoted"] and stage["reason"].startswith(f"reference {label!r}")
        assert trial.state == TrialState.COMPLETE
        assert trial_attrs(trial)["tracks_evaluated"] == N_TRACKS
    ranked = promotion(
        refs["small"].user_attrs["fidelity"]["excerpt_scores"],
        [refs["big"].user_attrs["fidelity"]["excerpt_scores"]],
        FidelitySection(EXCERPT, 0.25, 0),
        shared=True,
        maximize=True,
    )
    assert ranked[0] is False


def test_the_first_candidate_goes_on_by_rank_without_startup() -> None:
    section = FidelitySection(EXCERPT, 0.2, 0)
    assert promotion({t: 1.0 for t in TARGETS}, [], section, shared=True, maximize=True) == (
        True,
        "excerpt rank 1 of 1 (shared), within the best 0.2",
    )


def test_per_target_the_fraction_is_shared_among_the_targets() -> None:
    """promote 0.5 over 4 targets: 0.125 each, so of 8 candidates rank 1 in some target goes on
    and rank 2 in every target does not (any-target at 0.5 would promote it: rank 2 <= 4)."""
    section = FidelitySection(EXCERPT, 0.5, 0)
    earlier = [{t: float(k) for t in TARGETS} for k in range(7)]  # 0 … 6 in every target
    second = {t: 5.5 for t in TARGETS}
    assert promotion(second, earlier, section, shared=False, maximize=True) == (
        False,
        "excerpt rank 2 of 8 (drums), not within the best 0.5 / 4 targets",
    )
    one_best = {**second, "bass": 7.0}
    assert promotion(one_best, earlier, section, shared=False, maximize=True) == (
        True,
        "excerpt rank 1 of 8 (bass), within the best 0.5 / 4 targets",
    )
    # shared mode keeps the whole fraction: rank 2 of 8 is within ceil(0.5 * 8) = 4
    assert promotion(second, earlier, section, shared=True, maximize=True)[0] is True
