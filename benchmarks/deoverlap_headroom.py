"""Where the learned de-overlap's error sits: oracles that fix one part of it at a time.

The learned model at the seed's framewise NSGCQ reaches ~24 dB of
self-reconstruction; this script says what would be gained by fixing each
part of its error, so the next model is built where the headroom is. On the
held-out tracks of ``benchmarks/deoverlap.py`` (same synthesis, same split)
it prints the self-reconstruction SNR per target (own phase, median over
tracks) of:

- ``learned``: the model as trained by ``benchmarks/deoverlap.py``;
- ``true shares in block k``: the learned shares, but the true ones in one
  block of the transform (the framewise NSGCQ has three: the DC band, the
  constant-Q bands, the band above ``maxFrequency``);
- ``per-chunk level, block 1``: the learned shares of the constant-Q block
  corrected, in every chunk and band, by the two numbers that best fit the
  truth (``δ₁·p(1 - p) + δ₂·p(1 - p)(p - ½)``, least squares): what a model
  that got each chunk's split *level* right, but no finer detail, would reach;
- ``true shares everywhere``: exact slices (the SNR of the synthesis itself).

Usage: ``.venv/bin/python benchmarks/deoverlap_headroom.py [--seconds 4] [--train 3] [--test 2]``
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deoverlap import SEED_FRAMEWISE, cells, median_over, split_from_arguments
from sliceq22.data.track import Track
from sliceq22.deoverlap.learned import predict_shares
from sliceq22.deoverlap.methods import Deoverlap
from sliceq22.deoverlap.modelfile import DeoverlapModel
from sliceq22.deoverlap.pieces import sliced
from sliceq22.deoverlap.prior import BlockPrior, stationary_prior
from sliceq22.deoverlap.split import assemble, guided_shares
from sliceq22.deoverlap.training import fit, self_reconstruction
from sliceq22.oracles.mpi import TrackSignals
from sliceq22.transforms import make_transform

#: (learned shares, true shares, OLA magnitudes, prior, slices) -> the shares used.
Fix = Callable[[np.ndarray, np.ndarray, np.ndarray, BlockPrior, int], np.ndarray]


def take_true(
    learned: np.ndarray, true: np.ndarray, view: np.ndarray, prior: BlockPrior, n: int
) -> np.ndarray:
    return true


def chunk_level(
    learned: np.ndarray, true: np.ndarray, view: np.ndarray, prior: BlockPrior, n: int
) -> np.ndarray:
    """The learned shares plus, per chunk and band, the best-fitting two-profile correction.

    Fitted to the split magnitudes (the error ``(true - learned)·O`` against
    ``δ·profile·O``), the quantity the model itself is trained on.
    """
    h = prior.share.shape[-1]
    chunked = (*learned.shape[:-1], n + 1, h)
    magnitude = np.abs(view).reshape(chunked)  # (..., bands, chunks, h)
    error = (true - learned).reshape(chunked) * magnitude
    w1 = prior.share * (1.0 - prior.share)
    unit = np.stack([w1, w1 * (prior.share - 0.5)])  # (2, bands, h)
    batch = (1,) * (magnitude.ndim - 3)
    columns = unit.reshape(2, *batch, *w1.shape[:1], 1, h) * magnitude  # (2, ..., bands, chunks, h)
    gram = np.einsum("a...k,c...k->...ac", columns, columns)
    rhs = np.einsum("a...k,...k->...a", columns, error)
    ridge = 1e-9 * np.trace(gram, axis1=-2, axis2=-1)[..., None, None] + 1e-30
    delta = np.linalg.solve(gram + ridge * np.eye(2), rhs[..., None])[..., 0]
    correction = np.einsum("...bja,abk->...bjk", delta, unit)
    return np.clip(learned + correction.reshape(learned.shape), 0.0, 1.0)


class Oracle(Deoverlap):
    """The learned model with some of its shares replaced using the track's true slices."""

    halo = 2

    def __init__(self, name: str, model: DeoverlapModel, track: Track, fixes: dict[int, Fix]):
        self.name = name
        self.model = model
        self.source = TrackSignals(track)
        self.fixes = fixes

    def split(self, transform, ola, mixture, lo, hi, length):
        framed = sliced(transform)
        start, stop = framed.framing(length).segment(lo, hi - lo)
        segment = self.source.read(start, stop).reshape(-1, stop - start)
        truth = framed.forward_units(segment, hi - lo)
        n, model, out = hi - lo, self.model, []
        for k, (view, prior) in enumerate(zip(ola, stationary_prior(framed))):
            learned = predict_shares(view, prior, n, model.weights, model.scales,
                                     model.pair_scales)  # fmt: skip
            if k in self.fixes:
                true = np.abs(truth[k]).reshape(self.source.n_signals, self.source.channels,
                                                *truth[k].shape[1:])[1:]  # fmt: skip
                learned = self.fixes[k](learned, guided_shares(true), view, prior, n)
            out.append(assemble(view, learned, n))
        _, vlo, vhi = self._valid(transform, lo, hi, length, self.halo)
        return out, vlo, vhi


def main() -> None:
    args, train, test = split_from_arguments(__doc__.splitlines()[0])
    transform = make_transform("nsgcq", SEED_FRAMEWISE)
    model, _ = fit([transform], train)
    blocks = len(stationary_prior(sliced(transform)))
    plan: list[tuple[str, dict[int, Fix]]] = [("learned", {})]
    plan += [(f"true shares in block {k}", {k: take_true}) for k in range(blocks)]
    plan += [("per-chunk level, block 1", {1: chunk_level})]
    plan += [("true shares everywhere", dict.fromkeys(range(blocks), take_true))]
    print(f"framewise seed, {args.train} training / {args.test} held-out tracks of "
          f"{args.seconds:g} s; self-reconstruction SNR (dB)")  # fmt: skip
    print(f"{'':<30} {'d':>6} {'b':>6} {'o':>6} {'v':>6} | median")
    rows: dict[str, list[dict[str, float]]] = {name: [] for name, _ in plan}
    for track in test:
        methods = [Oracle(name, model, track, fixes) for name, fixes in plan]
        result = self_reconstruction(transform, track, methods)
        for name in rows:
            rows[name].append(result[name])
    for name, values in rows.items():
        print(f"{name:<30} {cells(median_over(values))}")


if __name__ == "__main__":
    main()
