"""Exported nsgcq parameters are what Essentia's own constructor takes."""

from __future__ import annotations

import essentia.standard as es
import numpy as np

from sliceq22.search.export import essentia_params
from sliceq22.transforms import transform_class


def test_nsgcq_export_feeds_essentia_directly() -> None:
    params = transform_class("nsgcq").validate(
        {
            "mode": "framewise",
            "frameSize": 8192,
            "transitionSize": 1024,
            "minFrequency": 65.41,
            "maxFrequency": 6000.0,
            "binsPerOctave": 48,
        }
    )
    exported = essentia_params("nsgcq", params)
    assert exported is not None and not {"mode", "frameSize", "transitionSize"} & set(exported)
    algo = es.NSGConstantQ(**exported, inputSize=8192)
    # Near Nyquist the exported maximum is moved below Essentia's top-bin bug, same bins.
    safe = essentia_params(
        "nsgcq", {"minFrequency": 32.9, "maxFrequency": 22050.0, "binsPerOctave": 24}
    )
    assert 21000 < safe["maxFrequency"] < 22050
    wide, _, _ = es.NSGConstantQ(**safe, inputSize=44100)(np.ones(44100, dtype=np.float32))
    assert len(wide) == 225
    coefficients, dc, nyquist = algo(
        np.random.default_rng(0).standard_normal(8192).astype(np.float32)
    )
    assert len(coefficients) == 48 * np.log2(6000 / 65.41) // 1 + 1
    assert essentia_params("stft", {"n_fft": 4096}) is None
