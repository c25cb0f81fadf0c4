"""python -m engine bench --pages (engine/bench_pages.py): the pages render in a child process with the
caller's folders; bad requests are refused before it starts."""
import subprocess
import sys

import pytest

from engine import bench_pages, pipeline
from engine.errors import InputError


@pytest.fixture(scope="module")
def tiny():
    from engine.data.synthetic import generate_dataset

    generate_dataset("eurlex-4k", name="pages-tiny", n_labels=400, n_features=800, n_train=600, n_test=60)
    pipeline.train_model("pages-tiny", "xlinear")
    return "pages-tiny"


def test_refuses_unknown_dataset_and_untrained_model(tiny):
    with pytest.raises(InputError, match="unknown dataset"):
        bench_pages.measure_pages("no-such-dataset")
    with pytest.raises(InputError, match="train it first"):
        bench_pages.measure_pages(tiny, "xtransformer")


@pytest.mark.slow
def test_measures_pages_in_a_child_process(tiny):
    out = bench_pages.measure_pages(tiny, pages=("overview", "your-data"))
    assert out["n_labels"] == 400 and set(out["pages"]) == {"overview", "your-data"}
    for r in out["pages"].values():
        assert r["first"]["seconds"] > 0 and r["first"]["bytes"] > 0 and not r["first"]["problems"]
        assert r["first"]["title"] in ("Overview", "Your data")
    assert out["peak_rss_mb"] > 0 and out["slowest_first_s"] == max(r["first"]["seconds"] for r in out["pages"].values())
    table = bench_pages.format_pages(out)
    assert "| overview |" in table and "peak RSS" in table


def test_cli_flag_is_routed(tiny):
    r = subprocess.run([sys.executable, "-m", "engine", "bench", "--pages", "no-such-dataset"], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "unknown dataset 'no-such-dataset'" in r.stderr


def test_fresh_results_cache_shares_datasets_not_results(tiny, tmp_path):
    from engine.paths import cache_dir

    (cache_dir() / "explanations" / tiny).mkdir(parents=True, exist_ok=True)
    fresh = bench_pages.fresh_results_cache(tmp_path)
    assert (fresh / "user_datasets" / tiny / "meta.json").is_file()  # the dataset is there (linked, not copied)
    assert (fresh / "user_datasets").is_symlink() and not (fresh / "explanations").exists()
