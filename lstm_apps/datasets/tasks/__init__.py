"""The long-time-lag tasks of Hochreiter & Schmidhuber (1997), "Long Short-Term Memory".

* :mod:`.generators`: the seeded sequence generators, :class:`TaskBatch`,
  ``pad`` and ``concat``;
* :mod:`.criteria`: the paper's success criteria, the stop rules' checks and
  :class:`PaperStopRule` (a criterion function for ``StopWhen``);
* :mod:`.registry`: the table of experiments (:data:`TASK_SPECS`) with the
  paper's figures, :func:`task_settings` and the ``--all`` suite;
* :mod:`.streams`: :class:`TaskStream` and :func:`task_data` (the data of one run);
* :mod:`.report`: results next to the paper's figures (tables, verdicts, success rates);
* :mod:`.models`: the paper-size Keras models;
* :mod:`.analysis`: input-gate traces and the vanishing-gradient measurement.

The NumPy parts are re-exported here; :mod:`.models` and :mod:`.analysis`
import Keras and are imported on their own
(``from lstm_apps.datasets.tasks import models``).

Example:

>>> b = adding_problem(4, T=100, seed=0)
>>> b.x.shape[0], b.x.shape[2], b.y.shape
(4, 2, (4, 1))
>>> PAPER_SEQUENCES[("adding", 100)]
74000
"""

from lstm_apps.datasets.tasks.criteria import *  # noqa: F403
from lstm_apps.datasets.tasks.criteria import __all__ as _criteria_all
from lstm_apps.datasets.tasks.generators import *  # noqa: F403
from lstm_apps.datasets.tasks.generators import __all__ as _generators_all
from lstm_apps.datasets.tasks.registry import *  # noqa: F403
from lstm_apps.datasets.tasks.registry import __all__ as _registry_all
from lstm_apps.datasets.tasks.report import *  # noqa: F403
from lstm_apps.datasets.tasks.report import __all__ as _report_all
from lstm_apps.datasets.tasks.streams import *  # noqa: F403
from lstm_apps.datasets.tasks.streams import __all__ as _streams_all

__all__ = [*_generators_all, *_criteria_all, *_registry_all, *_streams_all, *_report_all]
