"""engine/ray_tasks.py without a cluster: the workers' environment and the address checks."""
import pytest

from engine.errors import InputError
from engine.ray_tasks import check_ray_address, worker_env


def test_workers_get_the_drivers_resolved_folders(tmp_path, monkeypatch):
    import engine.paths

    monkeypatch.delenv("XTRUST_CACHE_DIR", raising=False)  # also a driver on the defaults passes its folders
    monkeypatch.setattr(engine.paths, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setenv("XTRUST_MODEL_DIR", str(tmp_path / "models"))
    env = worker_env()
    assert env["XTRUST_CACHE_DIR"] == str(tmp_path / "cache") and env["XTRUST_MODEL_DIR"] == str(tmp_path / "models")
    assert env["XTRUST_DATA_DIR"] == str(engine.paths.data_dirs()[0])
    assert str(engine.paths.REPO_ROOT) in env["PYTHONPATH"].split(":")


def test_bad_addresses_are_refused_before_work():
    pytest.importorskip("ray")
    check_ray_address(None)
    check_ray_address("local")
    with pytest.raises(InputError, match="not host:port"):
        check_ray_address("nohost")
    with pytest.raises(InputError, match="cannot reach"):
        check_ray_address("127.0.0.1:1")
