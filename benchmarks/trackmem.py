"""Memory of full-length tracks: loading one, and shipping a dataset to Ray workers.

Run: ``.venv/bin/python benchmarks/trackmem.py [--minutes 10] [--store-tracks 14]``.

1. ``load``: writes one folder track of ``--minutes`` (16-bit stereo WAV stems
   and mixture, synthesized from the example, see ``benchmarks/synth.py``),
   then loads it with :func:`sliceq22.data.load_tracks` in a fresh
   subprocess and prints that process's peak RSS (``VmHWM``, from the OS)
   before and after loading, and the bytes the Track holds.
2. ``store``: writes a MUSDB18-HQ-shaped tree of ``--store-tracks`` tracks of
   3-5 minutes and ships it to a local Ray runtime the way the study driver
   does for each ``--tracks-via`` choice (and ``legacy``: every track as
   float32 with its recorded mixture, what the driver did before), printing
   the object store's bytes (the growth of the machine's shared memory,
   /proc/meminfo Shmem, where Ray's store lives) and the driver's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import example_stems, write_musdb_tree, write_track

LOAD_CHILD = """
import json, sys
from sliceq22.data import DatasetSpec, load_tracks
def hwm():  # VmHWM is per address space; ru_maxrss survives exec (the parent's peak)
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
before = hwm()
(track,) = load_tracks(DatasetSpec(source="folder", root=sys.argv[1]))
nbytes = getattr(track, "nbytes", None)
if nbytes is None:
    nbytes = sum(track.targets[t].nbytes for t in track.targets) + track.recorded_mixture.nbytes
print(json.dumps({"peak_kb": hwm(),
                  "before_kb": before, "track_bytes": nbytes, "samples": track.length}))
"""

STORE_CHILD = """
import json, sys
import ray
from sliceq22.data import DatasetSpec
from sliceq22.search.shipping import ship_tracks
spec = DatasetSpec(source="musdb", root=sys.argv[1], is_wav=True, subsets=("train",), split="valid")
ray.init(num_cpus=1, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
def shmem():  # the object store lives in shared memory; pages count once written
    return int(next(l for l in open("/proc/meminfo") if l.startswith("Shmem:")).split()[1])
shm0 = shmem()
if sys.argv[2] == "legacy":  # what the driver did before: every track float32, mixture included
    from sliceq22.data import load_tracks
    from sliceq22.data.track import Track
    refs = []
    for t in load_tracks(spec):
        refs.append(ray.put(Track(t.name, t.rate, {k: t.targets[k] for k in t.targets},
                                  t.recorded_mixture)))
    count = len(refs)
else:
    shipped = ship_tracks(spec, via=sys.argv[2], mixture=sys.argv[3])
    count = len(shipped.handles)
store_kb = shmem() - shm0
peak_kb = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
print(json.dumps({"store_kb": store_kb, "driver_peak_kb": peak_kb,
                  "tracks": count}))
ray.shutdown()
"""


def run_child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the loaded track")
    parser.add_argument(
        "--store-tracks", type=int, default=14, help="tracks shipped to Ray (0: skip)"
    )
    parser.add_argument("--parts", default="load,store", help="load, store or both")
    parser.add_argument(
        "--subtype", default="PCM_16", help="WAV subtype of the loaded track (or FLOAT)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sliceq22-trackmem-") as tmp:
        if "load" in args.parts:
            stems, rate = example_stems()
            write_track(
                Path(tmp) / "folder" / "long",
                stems,
                rate,
                args.minutes * 60,
                seed=0,
                subtype=args.subtype,
            )
            got = run_child(LOAD_CHILD, str(Path(tmp) / "folder"))
            print(
                f"load {args.minutes:g} min {args.subtype}: "
                f"peak RSS {got['peak_kb'] / 2**20:.3f} GB "
                f"(before loading {got['before_kb'] / 2**20:.3f} GB), "
                f"track holds {got['track_bytes'] / 2**30:.3f} GB"
            )
        if "store" in args.parts and args.store_tracks:
            write_musdb_tree(Path(tmp) / "musdb", args.store_tracks, 3.0, 5.0)
            for via, mixture in (
                ("legacy", "recorded"),
                ("object-store", "recorded"),
                ("object-store", "sum"),
                ("dataset", "sum"),
            ):
                got = run_child(STORE_CHILD, str(Path(tmp) / "musdb"), via, mixture)
                print(
                    f"tracks via {via}, objective mixture {mixture}: object store "
                    f"{got['store_kb'] / 2**20:.3f} GB (shared memory written); "
                    f"driver peak RSS {got['driver_peak_kb'] / 2**20:.3f} GB"
                )


if __name__ == "__main__":
    main()
