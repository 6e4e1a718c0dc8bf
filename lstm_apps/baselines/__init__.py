from lstm_apps.baselines import markov  # noqa: F401  (MarkovModel, select_order)
from lstm_apps.baselines import curves  # noqa: F401  (retention curves, HalfLifeRegression, FSRSModel)
from lstm_apps.baselines import methylation  # noqa: F401  (fit_recursion: the mechanistic oracle)
from lstm_apps.baselines import text  # noqa: F401  (TfidfLogisticRegression)
