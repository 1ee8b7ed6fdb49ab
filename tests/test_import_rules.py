"""The framework-free core imports as a researcher expects it to from a notebook."""

from __future__ import annotations

import json
import subprocess
import sys

# what `from biv_pipeline.losses import BIVLoss` must not load: the frameworks, pandas, and the
# data modules that read tables and images or download files
NOT_LOADED_BY_LOSSES = (
    "kedro",
    "kedro_mlflow",
    "mlflow",
    "ray",
    "pandas",
    "biv_pipeline.data.table_reader",
    "biv_pipeline.data.table_declaration",
    "biv_pipeline.data.images",
    "biv_pipeline.data.download",
)


def loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``statement``."""
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(result.stdout))


def test_importing_the_losses_loads_no_framework_pandas_or_data_readers() -> None:
    loaded = loaded_after("from biv_pipeline.losses import BIVLoss")
    assert "biv_pipeline.losses" in loaded
    unwanted = {
        module
        for module in loaded
        if any(module == name or module.startswith(f"{name}.") for name in NOT_LOADED_BY_LOSSES)
    }
    assert not unwanted, f"import biv_pipeline.losses loaded {sorted(unwanted)}"
