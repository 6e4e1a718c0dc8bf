"""Linear probes: what a trained network's hidden states encode.

A probe is a linear classifier (here a standardised logistic regression)
trained on the hidden states of a frozen network to predict a label the
network was never trained on, e.g. "this base lies in a coding region" for a
next-base model of DNA or a secondary-structure class for a protein model.
If the probe beats always guessing the majority class of its training
labels, the states hold the information linearly.

Example:

```python
from lstm_apps.probes import linear_probe
result = linear_probe(model, x_train, y_train, x_test, y_test)
print(result["accuracy"], "vs majority", result["majority_accuracy"])
```
"""

from __future__ import annotations

import numpy as np

__all__ = ["probed_layer", "hidden_states", "linear_probe"]


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

    The states (see :func:`hidden_states`) are standardised
    (``sklearn.preprocessing.StandardScaler``) and classified with
    ``sklearn.linear_model.LogisticRegression(C=C)``. The baseline always
    guesses the majority class of ``train_labels``; when those labels hold a
    single class, the probe is that guess.

    Args:
        model: the trained network (left unchanged).
        train_inputs, train_labels: the probe's training examples (one label each).
        test_inputs, test_labels: its held-out examples.
        layer, position, batch_size: which states (see :func:`hidden_states`).
        C: inverse L2 regularisation strength.
        max_iter: solver iterations.

    Returns:
        ``{"train_samples", "test_samples", "majority_accuracy", "accuracy"}``.

    Example:

    ```python
    result = linear_probe(model, x[:500], y[:500], x[500:], y[500:])
    ```
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y_train, y_test = np.asarray(train_labels).reshape(-1), np.asarray(test_labels).reshape(-1)
    for name, x, y in (("train", train_inputs, y_train), ("test", test_inputs, y_test)):
        if len(x) != y.size or y.size == 0:
            raise ValueError(
                f"{name}_inputs and {name}_labels must hold equally many examples (at least one), "
                f"received {len(x)} and {y.size}."
            )
    h_train = hidden_states(model, train_inputs, layer=layer, position=position, batch_size=batch_size)
    h_test = hidden_states(model, test_inputs, layer=layer, position=position, batch_size=batch_size)
    out = {"train_samples": int(y_train.size), "test_samples": int(y_test.size)}
    classes, counts = np.unique(y_train, return_counts=True)
    majority = classes[np.argmax(counts)]
    if y_train.dtype == bool:  # a tie goes to True, as ``mean >= 0.5`` decides
        majority = bool(y_train.mean() >= 0.5)
    out["majority_accuracy"] = float((y_test == majority).mean())
    if classes.size == 1:
        out["accuracy"] = out["majority_accuracy"]
        return out
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, C=C))
    probe.fit(h_train.reshape(len(h_train), -1), y_train)
    out["accuracy"] = float(probe.score(h_test.reshape(len(h_test), -1), y_test))
    return out
