"""De-overlap: from the overlap-added (OLA) view of a sliced transform back to its slices.

Sliced transforms (the sliCQT, framewise NSGCQ) give each slice a block that
spans twice the hop; the 50 % overlap-add of neighbouring slices gives one
continuous time axis, the view demixing networks learn from, but it has no
exact inverse. This package splits it back:

- :mod:`~sliceq22.deoverlap.split` — the OLA geometry and share-based splits
  (``halves``; a guide's own ratio);
- :mod:`~sliceq22.deoverlap.prior` — the transform's stationary share (a
  white-noise probe);
- :mod:`~sliceq22.deoverlap.synthesis_gain` — each band's time-domain weight
  (training weights its rows by it);
- :mod:`~sliceq22.deoverlap.learned` — the share model linear in its
  parameters, fitted by least squares (normal equations accumulated piece by
  piece);
- :mod:`~sliceq22.deoverlap.modelfile` — its JSON model file, validated on load;
- :mod:`~sliceq22.deoverlap.methods` — ``halves``, ``mixture``,
  ``learned:PATH`` behind one interface;
- :mod:`~sliceq22.deoverlap.pieces` — streaming with neighbouring slices (halo);
- :mod:`~sliceq22.deoverlap.mpi_ola` — MPI through the OLA view, streamed;
- :mod:`~sliceq22.deoverlap.training` — training and self-reconstruction over tracks.
"""

from __future__ import annotations

from sliceq22.deoverlap.methods import Deoverlap, make_deoverlap
from sliceq22.deoverlap.mpi_ola import mpi_ola_estimates, ola_mpi_piece, stream_mpi_ola

__all__ = [
    "Deoverlap",
    "make_deoverlap",
    "mpi_ola_estimates",
    "ola_mpi_piece",
    "stream_mpi_ola",
]
