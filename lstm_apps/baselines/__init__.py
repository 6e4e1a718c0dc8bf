from lstm_apps.baselines import (
    curves,  # noqa: F401  (retention curves, HalfLifeRegression, FSRSModel)
    markov,  # noqa: F401  (MarkovModel, select_order)
    methylation,  # noqa: F401  (fit_recursion: the mechanistic oracle)
    next_action,  # noqa: F401  (order-k Markov next-action models of visits)
    text,  # noqa: F401  (TfidfLogisticRegression)
    volatility,  # noqa: F401  (garch_forecasts, ewma_forecasts, rolling_variance_forecasts, ...)
)
