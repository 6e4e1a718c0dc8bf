from lstm_apps.baselines import markov  # noqa: F401  (MarkovModel, select_order)
