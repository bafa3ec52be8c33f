"""The study driver's logic in this process: Optuna's InMemoryStorage, a synchronous evaluator.

The evaluations are scripted (:func:`_scripted`: scores computed from the
parameters, a dying worker or a raising evaluation where a test asks for one),
so each test runs the driver's real ask/tell loop, its dispatch, pruning,
failure and retry paths and its budget accounting in well under a second.
The real objective on real transforms runs in-process too
(:func:`test_the_real_evaluation_runs_in_process`); the Ray drills
(``test_scale_out.py``, ``test_study_run.py``) cover the same paths across
processes.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import soundfile
from optuna.trial import TrialState

from inprocess import N_TRACKS, RATE, Script, score, study_config, write_noise_tracks
from sliceq22 import TARGETS
from sliceq22.search import study as studies
from sliceq22.search.driver import MAX_FAILURE_STREAK, StudyDriver
from sliceq22.search.evaluator import LocalEvaluator
from sliceq22.search.trialattrs import trial_attrs


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_noise_tracks(tmp_path_factory.mktemp("inprocess"))


def _run(config: Any, script: Script, storage: Any = None, **kwargs: Any) -> tuple[Any, Any]:
    storage = storage or optuna.storages.InMemoryStorage()
    driver = StudyDriver(
        config, storage, progress=False, evaluator=LocalEvaluator(script), **kwargs
    )
    t0 = time.perf_counter()
    summary = driver.run()
    assert time.perf_counter() - t0 < 1.0, "an in-process run of a few trials takes milliseconds"
    study = optuna.load_study(study_name=config.name, storage=storage)
    return summary, study


def test_dispatch_tells_each_candidate_its_aggregated_scores(folder: Path) -> None:
    script = Script()
    summary, study = _run(study_config(folder, trials=4), script)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert summary.completed_now == len(complete) == 4 and summary.failed_now == 0
    for trial in complete:
        attrs = trial_attrs(trial)
        params = attrs["transform_params"]
        # per-target values: the median over the 3 tracks is the middle track's score
        assert trial.values == pytest.approx([score(params, 1, t) for t in TARGETS])
        assert attrs["scores"] == pytest.approx({t: score(params, 1, t) for t in TARGETS})
        assert attrs["tracks_evaluated"] == N_TRACKS and attrs["worker_host"] == "here"
        assert sorted(attrs["track_scores"]) == [f"track{i}" for i in range(N_TRACKS)]
    # every evaluation was handed the candidate the trial stored, and each ran to its end
    assert [c for c in script.calls] == [trial_attrs(t)["transform_params"] for t in complete]
    assert script.yielded_tracks == [N_TRACKS] * 4


def test_a_repeated_candidate_is_memoised_not_evaluated(folder: Path) -> None:
    script = Script()
    summary, study = _run(study_config(folder, trials=8), script)
    keys = [tuple(sorted(c.items())) for c in script.calls]
    assert len(keys) == len(set(keys)), "no candidate is evaluated twice"
    assert summary.completed_now == 8 and summary.memoised_now == 8 - len(script.calls)
    assert len(script.calls) <= 8


def test_pruning_cancels_a_bad_candidate_after_its_first_tracks(folder: Path) -> None:
    extra = '[pruner]\nname = "median"\nwarmup_tracks = 0'
    config = study_config(folder, mode="shared", trials=8, extra=extra)
    script = Script()
    summary, study = _run(config, script)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert summary.pruned_now == len(pruned) >= 1
    for trial in pruned:
        attrs = trial_attrs(trial)
        assert attrs["pruned"].startswith("pruned by the median pruner after 1 of 3 tracks")
        assert list(trial.intermediate_values) == [0]
    # a pruned evaluation was cancelled: it never handed over its remaining tracks
    assert sorted(script.yielded_tracks)[: len(pruned)] == [1] * len(pruned)
    # only worse candidates than the median of the first three are pruned
    best_complete = max(t.value for t in study.trials if t.state == TrialState.COMPLETE)
    assert all(t.intermediate_values[0] < best_complete for t in pruned)


def test_a_dying_worker_fails_the_trial_and_its_candidate_is_retried(folder: Path) -> None:
    config = study_config(folder, trials=4)  # retries = 1
    script = Script(dies={512, 1024, 2048, 256}, dies_once=True)
    summary, study = _run(config, script)
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert failed and all(trial_attrs(t)["failure"] == "worker died: test" for t in failed)
    retries = [t for t in study.trials if "retry_of" in t.user_attrs]
    # each failure was re-enqueued once, with the same parameters, and the retry completed
    assert {t.user_attrs["retry_of"] for t in retries} == {t.number for t in failed}
    for retry in retries:
        original = study.trials[retry.user_attrs["retry_of"]]
        assert retry.params == original.params and retry.user_attrs["attempt"] == 1
        assert retry.state == TrialState.COMPLETE
    assert summary.failed_now == len(failed) and summary.completed_now == 4


def test_a_worker_dying_after_every_track_was_scored_completes_the_trial(folder: Path) -> None:
    # Ray reuses a worker process for the task queued after this one: a kill there can take
    # the end of this trial's stream with it, although every track's score has arrived.
    script = Script(dies_after_last_track={256, 512, 1024, 2048})
    summary, study = _run(study_config(folder, trials=4), script)
    assert summary.completed_now == 4 and summary.failed_now == 0
    assert not [t for t in study.trials if "retry_of" in t.user_attrs]
    assert len(script.calls) == len({tuple(sorted(c.items())) for c in script.calls})
    for trial in study.get_trials(states=(TrialState.COMPLETE,)):
        params = trial_attrs(trial)["transform_params"]
        assert trial.values == pytest.approx([score(params, 1, t) for t in TARGETS])


def test_retries_are_bounded_by_the_study_file(folder: Path) -> None:
    # every worker dies: each candidate runs twice (retries = 1), then the run stops after
    # MAX_FAILURE_STREAK failures in a row
    storage = optuna.storages.InMemoryStorage()
    script = Script(dies={256, 512, 1024, 2048})
    with pytest.raises(Exception, match=f"{MAX_FAILURE_STREAK} trials in a row failed"):
        _run(study_config(folder, trials=2), script, storage)
    study = optuna.load_study(study_name="inprocess", storage=storage)
    trials = study.trials
    # original, its retry, original, its retry, ...: the 10th failure is a retry, not retried
    assert len(trials) == MAX_FAILURE_STREAK
    assert all(t.state == TrialState.FAIL for t in trials)
    assert [("retry_of" in t.user_attrs) for t in trials] == [False, True] * (len(trials) // 2)
    originals = [t for t in trials if "retry_of" not in t.user_attrs]
    retries = [t for t in trials if "retry_of" in t.user_attrs]
    assert {t.user_attrs["attempt"] for t in retries} == {1}, "no retry of a retry"
    assert sorted(t.user_attrs["retry_of"] for t in retries) == [t.number for t in originals]
    assert len(script.calls) == MAX_FAILURE_STREAK


def test_a_raising_evaluation_fails_with_its_reason_and_is_not_retried(folder: Path) -> None:
    storage = optuna.storages.InMemoryStorage()
    script = Script(raises={256, 512, 1024, 2048})
    with pytest.raises(Exception, match=f"{MAX_FAILURE_STREAK} trials in a row failed"):
        _run(study_config(folder, trials=4), script, storage)
    trials = optuna.load_study(study_name="inprocess", storage=storage).trials
    assert len(trials) == MAX_FAILURE_STREAK and all(t.state == TrialState.FAIL for t in trials)
    assert {trial_attrs(t)["failure"] for t in trials} == {"ValueError: second line"}
    assert not any("retry_of" in t.user_attrs for t in trials)


def _per_second(n_fft: int, hop: int) -> float:
    from sliceq22.transforms import make_transform

    length = RATE // 4
    transform = make_transform("stft", {"n_fft": n_fft, "hop": hop}, rate=RATE)
    return transform.n_coefficients(length) / (length / RATE)


def test_infeasible_candidates_are_pruned_with_a_reason_and_not_counted(folder: Path) -> None:
    storage = optuna.storages.InMemoryStorage()
    # the driver's own check refuses the densest candidate (n_fft 2048, hop 64) before any
    # evaluation; the worker's probe (scripted) refuses n_fft 1024
    limit = (_per_second(2048, 64) + _per_second(1024, 64)) / 2
    extra = f"[constraints]\nmax_coefficients_per_second = {limit}"
    script = Script(infeasible={1024})
    summary, study = _run(study_config(folder, trials=3, extra=extra), script, storage)
    infeasible = [t for t in study.trials if "infeasible" in trial_attrs(t)]
    assert infeasible and all(t.state == TrialState.PRUNED for t in infeasible)
    params = [trial_attrs(t)["transform_params"] for t in infeasible]
    by_driver = [t for t, p in zip(infeasible, params) if (p["n_fft"], p["hop"]) == (2048, 64)]
    by_worker = [t for t, p in zip(infeasible, params) if p["n_fft"] == 1024]
    assert by_driver and by_worker and len(by_driver) + len(by_worker) == len(infeasible)
    assert all("max_coefficients_per_second" in trial_attrs(t)["infeasible"] for t in by_driver)
    assert all(trial_attrs(t)["infeasible"] == "the probe refuses it" for t in by_worker)
    # the driver refused (2048, 64) without starting an evaluation
    assert all((c["n_fft"], c["hop"]) != (2048, 64) for c in script.calls)
    assert summary.infeasible_now == len(infeasible)
    # infeasible trials do not count against the budget: 3 evaluations were completed
    assert studies.finished_count(study) == summary.completed_now == 3


def test_budget_counts_stored_trials_and_a_larger_budget_resumes(folder: Path) -> None:
    storage = optuna.storages.InMemoryStorage()
    config = study_config(folder, trials=3)
    first, _ = _run(config, Script(), storage)
    assert (first.budget, first.finished, first.completed_now) == (3, 3, 3)
    again, _ = _run(config, Script(), storage)  # the budget is reached: nothing runs
    assert (again.finished, again.completed_now) == (3, 0)
    more, study = _run(config, Script(), storage, budget=5)
    assert (more.budget, more.finished, more.completed_now) == (5, 5, 2)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 5


def test_the_real_evaluation_runs_in_process(folder: Path) -> None:
    config = study_config(folder, trials=1)
    storage = optuna.storages.InMemoryStorage()
    driver = StudyDriver(config, storage, progress=False, evaluator=LocalEvaluator())
    summary = driver.run()
    study = optuna.load_study(study_name=config.name, storage=storage)
    (trial,) = study.get_trials(states=(TrialState.COMPLETE,))
    assert summary.completed_now == 1
    # MPI of a real STFT on the noise tracks: finite dB, per target
    assert all(math.isfinite(v) and 0 < v < 60 for v in trial.values)
    assert trial_attrs(trial)["timing"]["forward"] > 0


def test_the_export_compares_the_best_with_the_reference_track_by_track(folder: Path) -> None:
    from sliceq22.search.export import export_best
    from sliceq22.search.tables import results_table

    reference = (
        '[[reference]]\nlabel = "small"\nfamily = "stft"\nparams = { n_fft = 256, hop = 128 }'
    )
    config = study_config(folder, trials=4, extra=reference)
    _, study = _run(config, Script())
    doc = export_best(study, config)
    for target, entry in doc["targets"].items():
        versus = entry["versus"]["small"]
        # the scripted score is log2(n_fft) + per-track and per-target offsets: the best's
        # difference from n_fft 256 is the same on every track
        gain = math.log2(entry["params"]["n_fft"]) - 8
        assert versus["tracks"] == N_TRACKS and versus["mean_difference"] == pytest.approx(gain)
        assert versus["ci_low"] == pytest.approx(gain) == versus["ci_high"]
        assert versus["better_on"] == (N_TRACKS if gain > 0 else 0)
        # all three differences on one side: exact p = 2 / 2**3
        assert versus["p_value"] == (pytest.approx(0.25) if gain else None)
    table = results_table(study, config)
    assert "best − ref small, paired over tracks:" in table
    assert f"better on {N_TRACKS}/{N_TRACKS} tracks" in table
    # the report's table holds the same numbers, one row per target against the reference
    from sliceq22.report.paired_table import paired_rows

    header, rows = paired_rows(doc)
    assert header[:4] == ["best for", "reference", "tracks", "mean Δ"] and len(rows) == 4
    drums = doc["targets"]["drums"]["versus"]["small"]
    assert rows[0][0] == "<td>drums</td>" and repr(drums["mean_difference"]) in rows[0][3]


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two other tracks (other names), the same kind of noise."""
    return write_noise_tracks(tmp_path_factory.mktemp("held"), 2, seed=5, prefix="new")


def test_confirmation_rescores_the_top_candidates_on_held_out_tracks(
    folder: Path, held_out: Path
) -> None:
    from sliceq22.data import DatasetSpec
    from sliceq22.search.confirm import ATTR_CONFIRMATION, confirm, top_candidates
    from sliceq22.search.export import export_best
    from sliceq22.search.tables import results_table

    reference = (
        '[[reference]]\nlabel = "small"\nfamily = "stft"\nparams = { n_fft = 256, hop = 128 }'
    )
    config = study_config(folder, trials=5, extra=reference)
    _, study = _run(config, Script())
    top = top_candidates(study, config, 1)
    # per-target mode: the best of each target; the script ranks n_fft the same for all
    best_nfft = max(trial_attrs(t)["transform_params"]["n_fft"] for t in study.trials)
    assert [trial_attrs(t)["transform_params"]["n_fft"] for t in top] == [best_nfft]
    script = Script()
    spec = DatasetSpec(source="folder", root=str(held_out))
    result = confirm(study, config, spec, 1, LocalEvaluator(script))
    assert result["tracks"] == ["new0", "new1"] and len(script.calls) == 2  # best + reference
    stored = study.user_attrs[ATTR_CONFIRMATION]
    assert stored["candidates"][0]["trial"] == top[0].number
    # held out: the median of the 2 tracks' scripted scores (offsets 0.0 and 0.1)
    held = stored["candidates"][0]["held_out"]
    assert held["vocals"] == pytest.approx(math.log2(best_nfft) + 0.05 + 0.03)
    doc = export_best(study, config)
    entry = doc["targets"]["vocals"]
    assert entry["held_out"]["score"] == pytest.approx(held["vocals"])
    versus = entry["held_out"]["versus"]["small"]
    assert versus["tracks"] == 2 and versus["mean_difference"] == pytest.approx(
        math.log2(best_nfft) - 8
    )
    table = results_table(study, config)
    assert "confirmation on 2 held-out track(s)" in table and "held out" in table


def test_confirmation_refuses_tracks_the_study_was_searched_on(folder: Path) -> None:
    from sliceq22.data import DatasetSpec
    from sliceq22.errors import Sliceq22Error
    from sliceq22.search.confirm import ATTR_CONFIRMATION, confirm

    config = study_config(folder, trials=2)
    _, study = _run(config, Script())
    spec = DatasetSpec(source="folder", root=str(folder), tracks=("track1",))
    with pytest.raises(Sliceq22Error, match="track1 was searched on"):
        confirm(study, config, spec, 1, LocalEvaluator(Script()))
    assert ATTR_CONFIRMATION not in study.user_attrs


@pytest.mark.parametrize(
    "objective",
    ['name = "irm"\nalpha = 1', 'name = "wiener"\niterations = 1', 'name = "mwf"'],
)
def test_the_other_oracles_run_a_study_and_export_like_mpi(folder: Path, objective: str) -> None:
    from sliceq22.search.export import export_best, strict_json
    from sliceq22.search.tables import results_table

    reference = (
        '[[reference]]\nlabel = "small"\nfamily = "stft"\nparams = { n_fft = 256, hop = 128 }'
    )
    config = study_config(folder, trials=2, extra=reference, objective=objective)
    storage = optuna.storages.InMemoryStorage()
    StudyDriver(config, storage, progress=False, evaluator=LocalEvaluator()).run()
    study = optuna.load_study(study_name=config.name, storage=storage)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 2  # the reference is one of the budget's trials
    assert sum("reference" in trial_attrs(t) for t in complete) == 1
    assert all(math.isfinite(v) and -10 < v < 80 for t in complete for v in t.values)
    doc = export_best(study, config)
    assert doc["objective"]["name"] == config.objective.name and set(doc["targets"]) == set(TARGETS)
    assert strict_json(doc)  # standard JSON
    assert "(dB)" in results_table(study, config).splitlines()[0]


def test_confirmation_refuses_silent_held_out_tracks_and_stores_nothing(
    folder: Path, tmp_path: Path
) -> None:
    from sliceq22.data import DatasetSpec
    from sliceq22.errors import Sliceq22Error
    from sliceq22.search.confirm import ATTR_CONFIRMATION, confirm

    silent = tmp_path / "silent" / "quiet0"
    silent.mkdir(parents=True)
    for name in ("mixture", *TARGETS):
        soundfile.write(silent / f"{name}.wav", np.zeros((RATE // 4, 2)), RATE, subtype="FLOAT")
    config = study_config(folder, trials=2)
    _, study = _run(config, Script())
    spec = DatasetSpec(source="folder", root=str(silent.parent))
    with pytest.raises(Sliceq22Error, match="every target is silent in every track"):
        confirm(study, config, spec, 1, LocalEvaluator(Script()))
    assert ATTR_CONFIRMATION not in study.user_attrs
