from lstm_apps.datasets import genome  # noqa: F401  (read_genome, window_dataset, ...)
from lstm_apps.datasets import translation  # noqa: F401  (number_pairs, load_pairs, load_anki_fra, ...)
from lstm_apps.datasets import tasks  # noqa: F401  (adding_problem, embedded_reber, temporal_order, ... the 1997 tasks)
