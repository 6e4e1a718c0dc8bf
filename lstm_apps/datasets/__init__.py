from lstm_apps.datasets import genome  # noqa: F401  (read_genome, window_dataset, ...)
