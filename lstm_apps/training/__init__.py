"""The shared recipe harness: flags, run folders, training with resume and a time budget, artifacts.

Every recipe holds only its domain; this package gives it

* :func:`recipe_parser` (the common flags) and the ``argparse`` validators
  :func:`positive_int`, :func:`non_negative_int`, :func:`positive_float`,
  :func:`non_negative_float`, :func:`fraction`, :func:`existing_file`;
* :func:`start_run` and :class:`Run`: the run folder, ``fit`` / ``fit_members``
  (``BackupAndRestore`` for ``--resume``, the ``--max-minutes`` /
  ``--max-cpu-minutes`` budget, history files after every epoch),
  ``save_model``, ``export``, ``save_metrics``, ``print_table``, ``finish``;
* the callbacks :class:`TimeBudget` and :class:`StopWhen`;
* :func:`format_table`, :func:`flatten_metrics`, :func:`plot_history`;
* :func:`export_models`, the export step (``.tflite`` files and their parity);
* :func:`run_recipe_main`, a recipe's ``if __name__ == "__main__":`` entry.

Example:

```python
from lstm_apps.training import recipe_parser, run_recipe_main, start_run


def main(argv=None) -> dict:
    args = recipe_parser("demo", __doc__, epochs=5).parse_args(argv)
    run = start_run("demo", args)
    with run.strategy.scope():
        model = build_model(args)
    run.fit(model, x, y, validation_data=(x_val, y_val))
    run.save_model(model, sample_inputs=x_val[:16])
    return run.finish({"val_loss": model.evaluate(x_val, y_val, verbose=0)})


if __name__ == "__main__":
    run_recipe_main(main)
```

Names are imported lazily: ``from lstm_apps.training import format_table``
does not load TensorFlow.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "recipe_parser": "parser",
    "positive_int": "parser",
    "non_negative_int": "parser",
    "positive_float": "parser",
    "non_negative_float": "parser",
    "fraction": "parser",
    "existing_file": "parser",
    "start_run": "run",
    "Run": "run",
    "set_seed": "folders",
    "make_strategy": "folders",
    "run_recipe_main": "run",
    "TimeBudget": "callbacks",
    "StopWhen": "callbacks",
    "format_table": "report",
    "flatten_metrics": "report",
    "plot_history": "report",
    "export_models": "export",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"lstm_apps.training.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'lstm_apps.training' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
