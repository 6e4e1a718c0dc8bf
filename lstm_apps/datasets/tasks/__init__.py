"""The long-time-lag tasks of Hochreiter & Schmidhuber (1997), "Long Short-Term Memory".

* :mod:`.generators`: the seeded sequence generators of 5.1, 5.2a, 5.4-5.6,
  :class:`TaskBatch`, ``pad`` and ``concat``; :mod:`.noisy`: those of 5.2b,
  5.2c and 5.3;
* :mod:`.criteria`: the paper's success criteria, the stop rules' checks and
  :class:`PaperStopRule` (a criterion function for ``StopWhen``);
* :mod:`.paper`: the paper's nets (:data:`PAPER_NETS`, Table 10) and the
  LSTM rows of its Tables 1-9 (:data:`PAPER_ROWS`);
* :mod:`.registry`: the table of experiments (:data:`TASK_SPECS`), their
  parameters (:func:`task_params`) and stop rules;
* :mod:`.settings`: :func:`task_settings` (net, optimizer, budgets) and the ``--all`` suite;
* :mod:`.streams`: :class:`TaskStream`, :func:`task_data` (the data of one
  run) and :func:`score_model` (the test scores);
* :mod:`.report`: results next to the paper's figures (tables, verdicts, success rates);
* :mod:`.models`: the paper's nets and ours as Keras models;
* :mod:`.analysis`: input-gate traces and the vanishing-gradient measurement.

The NumPy parts are re-exported here; :mod:`.models` and :mod:`.analysis`
import Keras and are imported on their own
(``from lstm_apps.datasets.tasks import models``).

Example:

>>> b = adding_problem(4, T=100, seed=0)
>>> b.x.shape[0], b.x.shape[2], b.y.shape
(4, 2, (4, 1))
>>> PAPER_SEQUENCES["4-1"], paper_row("adding", {"length": 100}).weights
(74000, 93)
"""

from lstm_apps.datasets.tasks.criteria import *  # noqa: F403
from lstm_apps.datasets.tasks.criteria import __all__ as _criteria_all
from lstm_apps.datasets.tasks.generators import *  # noqa: F403
from lstm_apps.datasets.tasks.generators import __all__ as _generators_all
from lstm_apps.datasets.tasks.noisy import *  # noqa: F403
from lstm_apps.datasets.tasks.noisy import __all__ as _noisy_all
from lstm_apps.datasets.tasks.paper import *  # noqa: F403
from lstm_apps.datasets.tasks.paper import __all__ as _paper_all
from lstm_apps.datasets.tasks.registry import *  # noqa: F403
from lstm_apps.datasets.tasks.registry import __all__ as _registry_all
from lstm_apps.datasets.tasks.report import *  # noqa: F403
from lstm_apps.datasets.tasks.report import __all__ as _report_all
from lstm_apps.datasets.tasks.settings import *  # noqa: F403
from lstm_apps.datasets.tasks.settings import __all__ as _settings_all
from lstm_apps.datasets.tasks.streams import *  # noqa: F403
from lstm_apps.datasets.tasks.streams import __all__ as _streams_all

__all__ = [
    *_generators_all,
    *_noisy_all,
    *_criteria_all,
    *_paper_all,
    *_registry_all,
    *_settings_all,
    *_streams_all,
    *_report_all,
]
