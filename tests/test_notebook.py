"""The example notebook runs, cell by cell, on the seeds, offline (nbclient, a fresh kernel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow

NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


def test_the_quickstart_notebook_runs_without_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    (tmp_path / "seeds").symlink_to(SEEDS, target_is_directory=True)
    monkeypatch.setenv("NARRATIVES_MODELS_DIR", str(tmp_path / "models"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    plots = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(plots) == 1, "the monthly-share figure is drawn"
    assert (tmp_path / "models" / "quickstart" / "run.json").is_file()
    assert (tmp_path / "exports" / "quickstart" / "documents.parquet").is_file()
