"""The logged model's signature comes from its input frame, without running the model."""

from __future__ import annotations

import pandas as pd
import torch
from mlflow.models import infer_signature

from biv_pipeline.data.preprocessing import Normalisation
from biv_pipeline.models import build_model
from biv_pipeline.serving import input_example, serve_raw
from biv_pipeline.tracking.model_dataset import signature_of


def test_the_signature_from_the_frame_is_the_one_the_model_output_gives() -> None:
    columns = ["acidity", "alcohol", "sulphates"]
    stats = Normalisation(True, dict.fromkeys(columns, 1.0), dict.fromkeys(columns, 2.0), 5.0, 0.8)
    test_split = pd.DataFrame({c: [0.1 * i for i in range(8)] for c in columns}).assign(y=0.0)
    example = input_example(test_split, stats)
    model = serve_raw(build_model("vanilla_ann", (len(columns),)), stats, tabular=True)
    with torch.no_grad():
        output = model(torch.tensor(example.to_numpy(), dtype=torch.float32)).numpy()
    assert signature_of(example) == infer_signature(example, output)
