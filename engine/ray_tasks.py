"""Batch work on Ray: one remote task per item (a document), on a given cluster or one started here.

Used by the robustness evaluation (engine/attacks/robustness.py) and the faithfulness table
(engine/explain/faithfulness_table.py). Workers import ``engine`` from this checkout and read data,
models and caches where the driver does: the driver's resolved folders are passed to them as
XTRUST_* variables, so a worker never falls back to the repository's own cache/ or models/.
"""
from __future__ import annotations

import os
import socket
from typing import Any, Callable, Sequence

from engine.errors import InputError
from engine import paths
from engine.types import ProgressFn, report

RAY_CONNECT_TIMEOUT = 5.0  # seconds to reach a Ray cluster's address before refusing it
INSTALL_HINT = "Ray is not installed: pip install ray==2.49.2, or leave --ray / RAY_ADDRESS unset."


def check_ray_address(address: str | None) -> None:
    """Before any work: Ray is installed and a cluster address answers on its port.

    address: None (no Ray), "local" (a Ray started in this process), "auto" (Ray finds the running
    cluster itself), or "host:port" / "ray://host:port". Raises InputError naming the address.
    """
    if not address:
        return
    try:
        import ray  # noqa: F401
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    if address in ("local", "auto"):
        return
    host, sep, port = address.split("://", 1)[-1].rstrip("/").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise InputError(f"the Ray address {address!r} is not host:port (e.g. 10.0.0.5:6379 or ray://head:10001), "
                         "'local' or 'auto'.")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=RAY_CONNECT_TIMEOUT).close()
    except (OSError, OverflowError) as exc:
        raise InputError(f"cannot reach the Ray cluster at {address} ({getattr(exc, 'strerror', None) or exc}): "
                         "check the address and that the cluster is up, or leave --ray / RAY_ADDRESS unset.") from None


def worker_env() -> dict[str, str]:
    """The environment every worker runs with: PYTHONPATH to this checkout and the driver's resolved
    data / model / cache / WordNet folders (also when the driver uses the defaults)."""
    env = {"PYTHONPATH": os.pathsep.join([str(paths.REPO_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "XTRUST_DATA_DIR": str(paths.data_dirs()[0]), "XTRUST_MODEL_DIR": str(paths.model_dir()),
           "XTRUST_CACHE_DIR": str(paths.cache_dir()), "XTRUST_NLTK_DATA": str(paths.nltk_data_dir())}
    for var in ("OMP_WAIT_POLICY", "XTRUST_AUTO_TRAIN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var):
            env[var] = os.environ[var]
    return env


def connect(address: str) -> None:
    """ray.init for ``address`` unless Ray already runs in this process ("local": start one here)."""
    try:
        import ray
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    if ray.is_initialized():
        return
    try:
        ray.init(address=None if address == "local" else address, include_dashboard=False, ignore_reinit_error=True)
    except (ConnectionError, RuntimeError, TimeoutError, ValueError) as exc:
        raise InputError(f"could not connect to Ray at {address} ({exc}); leave --ray / RAY_ADDRESS unset to "
                         "work in this process.") from None


def run_tasks(fn: Callable, arg_tuples: Sequence[tuple], address: str, progress: ProgressFn | None = None,
              what: str = "documents") -> list[Any]:
    """fn(*args) for every tuple of ``arg_tuples`` as one Ray task each; the results in the order of
    ``arg_tuples``. Progress counts finished tasks; a Cancel (or a failed task) cancels the rest."""
    import ray

    connect(address)
    task = ray.remote(fn).options(runtime_env={"env_vars": worker_env()})
    refs = [task.remote(*args) for args in arg_tuples]
    position = {ref: i for i, ref in enumerate(refs)}
    out: list[Any] = [None] * len(refs)
    pending, finished = list(refs), 0
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                out[position[ref]] = ray.get(ref)
                finished += 1
            report(progress, finished / len(refs), f"{finished}/{len(refs)} {what} (Ray)")
    except BaseException:
        for ref in pending:  # cancelled or failed: stop the remaining tasks, keep nothing
            ray.cancel(ref, force=True)
        raise
    return out
