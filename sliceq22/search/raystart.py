"""Starting or joining Ray for a study driver.

Where the driver's Ray comes from, in order:

1. ``--ray-address ADDR``: a cluster's GCS address (``HOST:6379``), or ``auto``
   (the cluster started on this machine by ``ray start``).
2. ``$RAY_ADDRESS``: set by Ray itself inside a Ray job (``ray job submit``),
   or by the user.
3. Otherwise a new local Ray runtime with the machine's CPUs.

Refused up front, with what to use instead: Ray Client addresses (``ray://``),
because Ray Client does not run streaming generator tasks, which is how a
candidate's scores come back track by track; and dashboard URLs
(``http://HOST:8265``), which are for ``ray job submit``, not for joining.

A cluster is joined without ``num_cpus`` (Ray refuses it when connecting); the
number of parallel evaluations is capped at the CPUs Ray reports, saying so, so
``--workers`` never oversubscribes the machines.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from sliceq22.errors import Sliceq22Error

#: Set by Ray's job supervisor in a job's entrypoint environment (the job's runtime env).
JOB_CONFIG_VAR = "RAY_JOB_CONFIG_JSON_ENV_VAR"

_USE_INSTEAD = (
    "run the driver where it reaches the cluster's GCS (--ray-address HOST:6379, "
    "or auto on the head node), or submit it as a Ray job: "
    "ray job submit --address http://HOST:8265 -- sliceq22 run STUDY.toml"
)


def in_ray_job() -> bool:
    """Whether this process is the entrypoint of a Ray job (``ray job submit``)."""
    return JOB_CONFIG_VAR in os.environ


def resolve_address(address: str | None) -> str | None:
    """The Ray address the driver joins, or ``None`` for a new local runtime.

    Parameters
    ----------
    address : str or None
        ``--ray-address``; when ``None``, ``$RAY_ADDRESS`` (if set and not empty).

    Returns
    -------
    str or None
        ``auto``, ``HOST:PORT``, or ``None``.

    Raises
    ------
    Sliceq22Error
        For a Ray Client (``ray://``) or dashboard (``http(s)://``) address.

    Examples
    --------
    >>> resolve_address("10.0.0.1:6379")
    '10.0.0.1:6379'
    """
    source = "--ray-address"
    if address is None:
        address = os.environ.get("RAY_ADDRESS") or None
        source = "RAY_ADDRESS"
    if address is None:
        return None
    address = address.strip()
    if not address:
        raise Sliceq22Error(f"{source} is empty; give HOST:PORT (the cluster's GCS port) or auto")
    if address.lower().startswith("ray://"):
        raise Sliceq22Error(
            f"{source} {address}: Ray Client (ray://) cannot run sliceq22's streaming "
            f"evaluations; {_USE_INSTEAD}"
        )
    if address.lower().startswith(("http://", "https://")):
        raise Sliceq22Error(
            f"{source} {address} is a Ray dashboard (Jobs API) URL, which is for "
            f"`ray job submit`; {_USE_INSTEAD}"
        )
    if address != "auto":
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise Sliceq22Error(
                f"{source} {address!r} is not HOST:PORT (e.g. 10.0.0.1:6379, the cluster's GCS "
                "port) or auto"
            )
    return address


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` Ray address nothing listens on, in seconds.

    ``ray.init`` itself retries an unreachable GCS for minutes while printing
    its own log lines. ``auto`` is left to Ray, which fails fast when no local
    cluster is running.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise Sliceq22Error(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}; "
            "is `ray start --head` running there?"
        ) from None


def worker_runtime_env(env_vars: Mapping[str, str]) -> dict[str, Any]:
    """The runtime env to give ``ray.init``: ``env_vars`` minus those the Ray job already sets.

    Inside a job, Ray merges the job's runtime env with ``ray.init``'s and
    refuses the same environment variable in both; the job's value wins here
    (a user who set ``OMP_NUM_THREADS`` for the job meant it).
    """
    taken: set[str] = set()
    if in_ray_job():
        try:
            job = json.loads(os.environ[JOB_CONFIG_VAR])
            taken = set(((job.get("runtime_env") or {}).get("env_vars") or {}))
        except (ValueError, AttributeError):
            taken = set()
    return {"env_vars": {k: v for k, v in env_vars.items() if k not in taken}}


def start_ray(
    address: str | None,
    workers: int | None,
    env_vars: Mapping[str, str],
    notify: Callable[[str], None] | None = None,
) -> int:
    """Join the cluster at ``address`` (or start a local runtime); return the parallel evaluations.

    Parameters
    ----------
    address : str or None
        From :func:`resolve_address`; ``None`` starts a local runtime.
    workers : int or None
        ``--workers``; default one per CPU Ray reports.
    env_vars : mapping
        Environment of the evaluation workers (single-threaded numpy).
    notify : callable, optional
        Told one line when ``workers`` is capped.

    Returns
    -------
    int
        Parallel evaluations: ``workers`` capped at the CPUs Ray reports.

    Raises
    ------
    Sliceq22Error
        When Ray cannot be started or reached.
    """
    import ray

    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": "ERROR",
            "log_to_driver": False,
            "runtime_env": worker_runtime_env(env_vars),
        }
        if address is not None:
            check_reachable(address)
            kwargs["address"] = address
            where = f"the Ray cluster at {address}"
        else:
            # A local runtime gets the machine's CPUs, never more: Ray would
            # otherwise run `--workers 1000` evaluations at once on 2 cores.
            cpus = os.cpu_count() or 1
            kwargs["num_cpus"] = min(workers or cpus, cpus)
            where = "a new local Ray runtime"
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Sliceq22Error(f"cannot start or reach {where}: {detail}") from None
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    if workers is not None and workers > cpus:
        if notify is not None:
            notify(
                f"--workers {workers} is more than the {cpus} CPU(s) Ray reports; "
                f"running {cpus} evaluation(s) at a time"
            )
        workers = cpus
    return workers or cpus
