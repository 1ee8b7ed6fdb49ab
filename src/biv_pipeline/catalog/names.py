"""The names of the catalog's datasets that code refers to, defined once.

``conf/base/catalog.yml`` declares them; hooks, nodes and sweeps that look one up by name
import it from here.
"""

IMAGE_CACHE = "image_cache"  # an image dataset's decoded images (ingest -> train)
NOISY_TRAIN = "noisy_train"  # the versioned noisy training labels (noise -> train)
TEST_SPLIT = "test_split"  # the versioned test split the training run scores on
TRAINING_CONFIG = "training_config"  # the validated training settings (only training has it)
LABEL_HETEROGENEITY = "label_heterogeneity"  # tau2_hat of the training labels (train)
TRAINING_METRICS = "training_metrics"  # the metric histories logged to MLflow
SWEEP_RUNS = "sweep_runs"  # a sweep's MLflow runs, as the report reads them
SWEEP_RESULTS_MARKDOWN = "sweep_results_markdown"  # the report's results table, as Markdown
