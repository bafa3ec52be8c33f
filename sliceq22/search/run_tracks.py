"""The tracks of a study run: checked before anything is written, then shipped.

Two stages, so a refused run writes nothing: :func:`check_dataset` reads only
headers (before the workers start), :func:`load_tracks` reads the samples
once (fingerprint, silence, sizes) and makes them reachable by the
evaluations, comparing the fingerprint with the one the study stored.
"""

from __future__ import annotations

from typing import Any

from sliceq22 import TARGETS
from sliceq22.data.spec import DatasetSpec
from sliceq22.errors import Sliceq22Error
from sliceq22.search import study as studies
from sliceq22.search.config import StudyConfig
from sliceq22.search.evaluator import Evaluator
from sliceq22.search.shipping import Shipped


def check_dataset(spec: DatasetSpec) -> None:
    """Refuse a missing, changed or unusable dataset before the workers start (no audio read).

    Files, lengths against the excerpt, rates and truncated files are
    checked from the headers; what needs the samples (non-finite or
    all-silent audio, the fingerprint) is checked by :func:`load_tracks`.

    Raises
    ------
    DatasetError
        The first problem found, naming its file.
    """
    from sliceq22.data.load import prepare
    from sliceq22.oracles.base import require_scorable

    require_scorable(prepare(spec), spec)


def load_tracks(
    evaluator: Evaluator,
    config: StudyConfig,
    stored_fingerprint: Any,
    *,
    via: str,
    progress: bool,
) -> tuple[Shipped, dict[str, str]]:
    """Read every track once and ship it; return it with the targets no track can score.

    Writes nothing: the caller stores the fingerprint once everything is checked.

    Parameters
    ----------
    evaluator : Evaluator
        Where the tracks must be reachable.
    config : StudyConfig
        The study (its dataset, and the objective's ``mixture`` option).
    stored_fingerprint : dict or None
        The fingerprint a stored study was run on (``None``: a new study).
    via : str
        ``--tracks-via`` (:mod:`sliceq22.search.shipping`).
    progress : bool
        Show the loading bar.

    Returns
    -------
    shipped : Shipped
        The tracks as the evaluator takes them.
    unscorable : dict of str to str
        Targets silent in every track, with the reason.

    Raises
    ------
    Sliceq22Error
        The dataset differs from the study's, a track is too short to
        score, or every target is silent in every track.
    """
    shipped = evaluator.ship(
        config.dataset,
        via=via,
        progress=progress,
        mixture=config.objective.mixture,
    )
    if stored_fingerprint is not None and stored_fingerprint != studies.as_stored(
        shipped.fingerprint
    ):
        raise Sliceq22Error(
            f"study {config.name!r}: the dataset differs from the one the study was run "
            "on (track names, excerpts or content changed); rename the study to start a new one"
        )
    return shipped, require_scorable_tracks(shipped, config.dataset)


def require_scorable_tracks(shipped: Shipped, spec: DatasetSpec) -> dict[str, str]:
    """Refuse tracks too short to score or silent in every target; return the targets silent
    in every track, with the reason.

    Raises
    ------
    Sliceq22Error
        A track is too short to score, or every target is silent in every track.
    """
    from sliceq22.oracles.base import require_scorable_length

    shortest = shipped.names[0] if len(shipped.names) == 1 else "the shortest"
    require_scorable_length(shortest, shipped.length, shipped.rate)
    never = [t for t in TARGETS if len(shipped.silent_in.get(t, ())) == len(shipped.names)]
    if len(never) == len(TARGETS):
        raise Sliceq22Error(
            f"every target is silent in every track of {spec.describe()}: "
            "nothing can be scored; check the dataset (sliceq22 data info)"
        )
    return {t: "silent in every track" for t in never}


def load_excerpts(
    evaluator: Evaluator, config: StudyConfig, shipped: Shipped, *, via: str, progress: bool
) -> Shipped | None:
    """The fidelity excerpts of the study's tracks, shipped (``None`` without ``[fidelity]``).

    Raises
    ------
    Sliceq22Error
        The excerpt is not shorter than the shortest track (nothing to save).
    """
    from sliceq22.search.fidelity import excerpt_spec

    section = config.fidelity
    if section is None:
        return None
    shortest = shipped.length / shipped.rate
    if section.excerpt >= shortest:
        raise Sliceq22Error(
            f"fidelity.excerpt {section.excerpt:g} s is not shorter than the shortest track "
            f"({shortest:.1f} s): nothing to save; shorten it or remove [fidelity]"
        )
    spec = excerpt_spec(config.dataset, section)
    return evaluator.ship(spec, via=via, progress=progress, mixture=config.objective.mixture)
