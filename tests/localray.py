"""A local Ray runtime whose workers can import an objective registered by a test module."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from sliceq22.search.worker import WORKER_ENV

TESTS = Path(__file__).resolve().parent


def start_local_ray(objective_module: str, num_cpus: int) -> None:
    """``ray.init`` with ``objective_module.register()`` run here and in every worker.

    Parameters
    ----------
    objective_module : str
        A module in ``tests/`` with a ``register()`` that registers its objective.
    num_cpus : int
        CPUs of the local runtime.
    """
    import ray

    importlib.import_module(objective_module).register()
    path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        logging_level="ERROR",
        log_to_driver=False,
        runtime_env={
            "env_vars": {**WORKER_ENV, "PYTHONPATH": path},
            "worker_process_setup_hook": f"{objective_module}.register",
        },
    )
