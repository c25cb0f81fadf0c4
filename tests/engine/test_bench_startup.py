def test_startup_seconds_measures_two_checkouts_alternately(tmp_path, monkeypatch):
    """Real fresh processes: the import of the pipeline and the dashboard's first page, with ratios."""
    from engine.bench import startup_seconds
    from engine.paths import REPO_ROOT

    monkeypatch.setenv("XTRUST_AUTO_TRAIN", "0")
    monkeypatch.setenv("XTRUST_CACHE_DIR", str(tmp_path / "cache"))
    out = startup_seconds(repeat=1, against=REPO_ROOT, model_dirs=(tmp_path / "a", tmp_path / "b"))
    assert out["import_pipeline_s"] > 0 and out["dashboard_first_page_s"] > out["import_pipeline_s"]
    assert out["against"]["import_pipeline_s"] > 0 and out["ratio_import"] > 0 and out["ratio_first_page"] > 0
    assert (tmp_path / "a" / "bibtex" / "xlinear").is_dir()  # the warm-up trained each checkout's first model
