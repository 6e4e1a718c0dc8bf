"""Linear probes: what a trained network's hidden states encode.

A probe is a linear model trained on the hidden states of a frozen network
to predict something the network was never trained on: a class (a
standardised logistic regression, :func:`classification_probe`), e.g. "this
base lies in a coding region" for a next-base model of DNA, or a number
(ridge regression, :func:`ridge_probe`), e.g. the net charge of the protein
prefix a residue model has read. A probe result means little alone; it is
read beside its controls:

* the **majority class** (classification): always guessing the most frequent
  training label; balanced accuracy (the mean recall of the classes) puts it
  at 0.5 whatever the class balance;
* the **untrained model** (:func:`untrained_copy`): the same architecture with
  fresh random weights, whose states already carry much of the input
  linearly; a trained model's probe is only evidence of learning when it
  beats this one;
* a **ceiling**: features known to determine the target (e.g. the residue
  counts of the prefix for its charge) under the same probe.

Example:

```python
from lstm_apps.probes import linear_probe, untrained_copy
result = linear_probe(model, x_train, y_train, x_test, y_test)
control = linear_probe(untrained_copy(model), x_train, y_train, x_test, y_test)
print(result["balanced_accuracy"], "vs untrained", control["balanced_accuracy"])
```
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "probed_layer",
    "hidden_states",
    "sequence_states",
    "untrained_copy",
    "classification_probe",
    "ridge_probe",
    "linear_probe",
]


def probed_layer(model, layer=None):
    """The layer whose outputs are probed: ``layer`` (a name or a layer), or the model's last recurrent layer.

    Raises:
        ValueError: when ``layer`` names no layer of ``model``, or ``model``
            has no recurrent (``keras.layers.RNN``) layer to default to.
    """
    import keras

    if layer is None:
        rnns = [lay for lay in model.layers if isinstance(lay, keras.layers.RNN)]
        if not rnns:
            raise ValueError(
                f"model {model.name!r} has no recurrent layer; pass layer= to name the layer to probe."
            )
        return rnns[-1]
    if isinstance(layer, str):
        names = [lay.name for lay in model.layers]
        if layer not in names:
            raise ValueError(
                f"layer {layer!r} is not a layer of model {model.name!r}; its layers are {names}."
            )
        return model.get_layer(layer)
    return layer


def hidden_states(
    model, inputs, *, layer=None, position: int | None = -1, batch_size: int = 256
) -> np.ndarray:
    """The outputs of ``layer`` (default: the last recurrent layer) for ``inputs``.

    Args:
        model: a functional Keras model.
        inputs: its inputs (NumPy).
        layer: a layer or its name (default :func:`probed_layer`'s choice).
        position: for sequence outputs, the time step kept (default the last;
            None keeps every step).
        batch_size: rows per ``predict`` batch.

    Returns:
        ``(samples, units)`` states (``(samples, time, units)`` with ``position=None``).
    """
    import keras

    target = probed_layer(model, layer)
    states = keras.Model(model.inputs, target.output).predict(inputs, batch_size=batch_size, verbose=0)
    if position is not None and states.ndim == 3:
        states = states[:, position, :]
    return states


def sequence_states(model, sequences, *, layer=None, pad: int = 0, batch_size: int = 64) -> list[np.ndarray]:
    """The states of ``layer`` at every position of each variable-length token sequence.

    Sequences are sorted by length and padded (with ``pad``, at the end, so
    no real position sees it) per batch.

    Args:
        model: a functional Keras model whose input is ``(batch, time)`` tokens.
        sequences: 1-D integer arrays.
        layer: a layer or its name (default :func:`probed_layer`'s choice).
        pad: the padding token.
        batch_size: sequences per ``predict`` call.

    Returns:
        One ``(len(sequence), units)`` array per sequence, in the given order.
    """
    import keras

    seqs = [np.asarray(s) for s in sequences]
    target = keras.Model(model.inputs, probed_layer(model, layer).output)
    out = [None] * len(seqs)
    order = np.argsort([s.size for s in seqs], kind="stable")
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        length = max(seqs[j].size for j in idx)
        x = np.full((idx.size, length), pad, dtype=np.int32)
        for r, j in enumerate(idx):
            x[r, : seqs[j].size] = seqs[j]
        states = np.asarray(target.predict_on_batch(x))
        for r, j in enumerate(idx):
            out[j] = states[r, : seqs[j].size]
    return out


def untrained_copy(model, seed: int = 0):
    """The same architecture as ``model`` with fresh random weights (the "untrained model" control).

    Built with ``keras.models.clone_model`` after ``keras.utils.set_random_seed(seed)``
    (so it resets the global random seeds), uncompiled; ``model`` is unchanged.
    """
    import keras

    keras.utils.set_random_seed(seed)
    return keras.models.clone_model(model)


def _check_pairs(train_x, train_y, test_x, test_y):
    out = []
    for name, x, y in (("train", train_x, train_y), ("test", test_x, test_y)):
        x, y = np.asarray(x), np.asarray(y).reshape(-1)
        if len(x) != y.size or y.size == 0:
            raise ValueError(
                f"{name}_inputs and {name}_labels must hold equally many examples (at least one), "
                f"received {len(x)} and {y.size}."
            )
        out += [x.reshape(len(x), -1), y]
    return out


def classification_probe(train_features, train_labels, test_features, test_labels, *, C=0.1, max_iter=2000):
    """A standardised logistic regression from features to labels, beside the majority class.

    Args:
        train_features, train_labels: the probe's training examples (``(samples, ...)``, one label each).
        test_features, test_labels: its held-out examples.
        C: inverse L2 regularisation strength.
        max_iter: solver iterations.

    Returns:
        ``{"train_samples", "test_samples", "accuracy", "balanced_accuracy",
        "majority_accuracy", "majority_balanced_accuracy"}``: the majority class
        of the training labels is the baseline (on a tie for boolean labels,
        True); with one training class the probe is that guess.

    Example:

    >>> out = classification_probe(x[:100], y[:100], x[100:], y[100:])
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    h_train, y_train, h_test, y_test = _check_pairs(train_features, train_labels, test_features, test_labels)
    out = {"train_samples": int(y_train.size), "test_samples": int(y_test.size)}
    classes, counts = np.unique(y_train, return_counts=True)
    majority = classes[np.argmax(counts)]
    if y_train.dtype == bool:  # a tie goes to True, as ``mean >= 0.5`` decides
        majority = bool(y_train.mean() >= 0.5)
    guess = np.full(y_test.shape, majority, dtype=y_test.dtype)
    out["majority_accuracy"] = float((y_test == majority).mean())
    out["majority_balanced_accuracy"] = float(balanced_accuracy_score(y_test, guess))
    if classes.size == 1:
        out["accuracy"] = out["majority_accuracy"]
        out["balanced_accuracy"] = out["majority_balanced_accuracy"]
        return out
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, C=C))
    probe.fit(h_train, y_train)
    predicted = probe.predict(h_test)
    out["accuracy"] = float((predicted == y_test).mean())
    out["balanced_accuracy"] = float(balanced_accuracy_score(y_test, predicted))
    return out


def ridge_probe(
    train_features, train_targets, test_features, test_targets, *, alphas=(1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0)
) -> dict:
    """A standardised ridge regression from features to a number; R² on held-out examples.

    The penalty is chosen among ``alphas`` by efficient leave-one-out
    cross-validation on the training examples (``sklearn.linear_model.RidgeCV``).

    Args:
        train_features, train_targets: training examples (``(samples, ...)``, one target each).
        test_features, test_targets: held-out examples.
        alphas: candidate penalties.

    Returns:
        ``{"r2", "alpha", "train_samples", "test_samples", "probe"}``: R² of the
        test targets (1: perfect; 0: no better than their mean; negative: worse),
        the chosen penalty and the fitted probe (an sklearn pipeline).

    Example:

    >>> out = ridge_probe(states[:500], charge[:500], states[500:], charge[500:])
    >>> out["r2"]
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    h_train, y_train, h_test, y_test = _check_pairs(
        train_features, train_targets, test_features, test_targets
    )
    probe = make_pipeline(StandardScaler(), RidgeCV(alphas=tuple(alphas)))
    probe.fit(h_train, y_train.astype(np.float64))
    return {
        "r2": float(r2_score(y_test, probe.predict(h_test))),
        "alpha": float(probe[-1].alpha_),
        "train_samples": int(y_train.size),
        "test_samples": int(y_test.size),
        "probe": probe,
    }


def linear_probe(
    model,
    train_inputs,
    train_labels,
    test_inputs,
    test_labels,
    *,
    layer=None,
    position: int | None = -1,
    C: float = 0.1,
    max_iter: int = 2000,
    batch_size: int = 256,
) -> dict:
    """Fit a logistic regression on the hidden states of ``train_inputs`` and score it on ``test_inputs``.

    The states (see :func:`hidden_states`) go to :func:`classification_probe`.

    Args:
        model: the trained network (left unchanged).
        train_inputs, train_labels: the probe's training examples (one label each).
        test_inputs, test_labels: its held-out examples.
        layer, position, batch_size: which states (see :func:`hidden_states`).
        C: inverse L2 regularisation strength.
        max_iter: solver iterations.

    Returns:
        ``{"train_samples", "test_samples", "majority_accuracy",
        "majority_balanced_accuracy", "accuracy", "balanced_accuracy"}``.

    Example:

    ```python
    result = linear_probe(model, x[:500], y[:500], x[500:], y[500:])
    ```
    """
    _check_pairs(np.zeros(len(train_inputs)), train_labels, np.zeros(len(test_inputs)), test_labels)
    h_train = hidden_states(model, train_inputs, layer=layer, position=position, batch_size=batch_size)
    h_test = hidden_states(model, test_inputs, layer=layer, position=position, batch_size=batch_size)
    return classification_probe(h_train, train_labels, h_test, test_labels, C=C, max_iter=max_iter)
