"""Named settings the project measures against (tests, benchmarks, README numbers).

``BARK262``
    The sliCQT setting xumx-sliCQ's search found and its model uses: bark
    scale, 262 bins, 32.9–22050 Hz, slice 18060, transition 4516 samples
    at 44.1 kHz.
``NSGCQ_SEED``
    The founding experiment's NSG constant-Q setting: 65.41–6000 Hz, 48 bins
    per octave (full-signal). ``NSGCQ_SEED_FRAMEWISE`` is its framewise form,
    frameSize 8192, transitionSize 1024: the seed's framewise setting.

Examples
--------
>>> from sliceq22.transforms import make_transform
>>> make_transform("slicqt", BARK262).params["bins"]
262
>>> NSGCQ_SEED_FRAMEWISE["mode"], NSGCQ_SEED_FRAMEWISE["frameSize"]
('framewise', 8192)
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

#: xumx-sliCQ's sliCQT (see the module docstring).
BARK262: MappingProxyType[str, Any] = MappingProxyType(
    {"scale": "bark", "bins": 262, "fmin": 32.9, "fmax": 22050, "sllen": 18060, "trlen": 4516}
)
#: The founding experiment's NSG constant-Q transform, full-signal.
NSGCQ_SEED: MappingProxyType[str, Any] = MappingProxyType(
    {"minFrequency": 65.41, "maxFrequency": 6000.0, "binsPerOctave": 48}
)
#: The same, framewise: the seed's framewise setting.
NSGCQ_SEED_FRAMEWISE: MappingProxyType[str, Any] = MappingProxyType(
    {**NSGCQ_SEED, "mode": "framewise", "frameSize": 8192, "transitionSize": 1024}
)
