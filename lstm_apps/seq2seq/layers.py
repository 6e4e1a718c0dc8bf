"""Keras layers of the translation models and their ensembles.

:class:`PaddingMask` and :class:`LastStep` wire the one-step decoder,
:class:`LexicalModel` (Nguyen & Chiang 2018) and :class:`TiedEmbedding`
(Press & Wolf 2017) are options of :func:`~lstm_apps.seq2seq.build_seq2seq`,
and :class:`EnsembleLogProbs` and :class:`FeatureSlice` join several trained
models in :func:`~lstm_apps.seq2seq.ensemble_models`. Every layer is
registered with Keras as ``"lstm_apps>ClassName"``, so ``.keras`` files load
without ``custom_objects`` once :mod:`lstm_apps.seq2seq` is imported.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from lstm_apps.seq2seq.tokenizers import PAD

__all__ = ["PaddingMask", "LastStep", "LexicalModel", "TiedEmbedding", "EnsembleLogProbs", "FeatureSlice"]


@keras.saving.register_keras_serializable(package="lstm_apps")
class PaddingMask(keras.layers.Layer):
    """Boolean mask ``ids != 0`` of a padded id batch (for the one-step decoder's attention).

    Call arguments:
        inputs: integer tensor ``(batch, timesteps)``.

    Example:

    >>> PaddingMask()(np.array([[5, 3, 0]])).numpy().tolist()
    [[True, True, False]]
    """

    def call(self, inputs):
        return ops.not_equal(inputs, PAD)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="bool")


@keras.saving.register_keras_serializable(package="lstm_apps")
class LastStep(keras.layers.Layer):
    """``(batch, 1, features)`` -> ``(batch, features)``; the padding mask of the step ends here.

    Call arguments:
        inputs: a tensor with one time step.
        mask: ignored (a one-step decoder's output is never padding).
    """

    def call(self, inputs, mask=None):
        return inputs[:, -1]

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])


@keras.saving.register_keras_serializable(package="lstm_apps")
class LexicalModel(keras.layers.Layer):
    """Lexical translation model of Nguyen & Chiang (2018).

    From "Improving Lexical Choice in Neural Machine Translation": the
    attention weights of each decoder step average the *source
    embeddings* (not the encoder's recurrent outputs), and a one-hidden-layer
    network maps that average straight to the target vocabulary. Its logits
    are added to the decoder's, so a source word can pull up its usual
    translation without going through the recurrent state, which helps with
    rare words on small corpora (Sennrich & Zhang 2019 use it for
    low-resource translation):

        f_t = tanh(sum_s a_ts e_s)
        h_t = tanh(W f_t) + f_t
        logits_t = decoder_logits_t + W_out h_t

    Args:
        target_vocab: size of the target vocabulary (the logits' width).

    Call arguments:
        inputs: ``[decoder_logits, attention_weights, source_embeddings]``
            with shapes ``(batch, target_len, target_vocab)``, ``(batch,
            target_len, source_len)`` and ``(batch, source_len, embed_dim)``;
            the weights are the attention distribution (rows sum to 1 over
            unmasked source positions).
        mask: the output keeps the decoder logits' mask (the target
            padding), so a loss still averages over real tokens only.

    Example:

    >>> layer = LexicalModel(7)
    >>> logits, weights = np.zeros((2, 3, 7), "float32"), np.full((2, 3, 4), 0.25, "float32")
    >>> tuple(layer([logits, weights, np.ones((2, 4, 5), "float32")]).shape)
    (2, 3, 7)
    """

    def __init__(self, target_vocab: int, **kwargs):
        super().__init__(**kwargs)
        if (
            isinstance(target_vocab, bool)
            or not isinstance(target_vocab, (int, np.integer))
            or target_vocab <= 0
        ):
            raise ValueError(f"target_vocab must be a positive integer, received {target_vocab!r}.")
        self.target_vocab = int(target_vocab)

    def build(self, input_shape):
        logits_shape, weights_shape, embedding_shape = input_shape
        if (
            len(logits_shape) != 3
            or logits_shape[-1] != self.target_vocab
            or len(weights_shape) != 3
            or len(embedding_shape) != 3
        ):
            raise ValueError(
                f"LexicalModel expects [decoder logits (batch, target_len, {self.target_vocab}), "
                "attention weights (batch, target_len, source_len), "
                "source embeddings (batch, source_len, embed_dim)], "
                f"received shapes {logits_shape}, {weights_shape} and {embedding_shape}."
            )
        dim = embedding_shape[-1]
        self.hidden_kernel = self.add_weight(
            shape=(dim, dim), initializer="glorot_uniform", name="hidden_kernel"
        )
        self.output_kernel = self.add_weight(
            shape=(dim, self.target_vocab), initializer="glorot_uniform", name="output_kernel"
        )

    def call(self, inputs, mask=None):
        logits, weights, embeddings = inputs
        f = ops.tanh(ops.matmul(weights, ops.cast(embeddings, weights.dtype)))
        h = ops.tanh(ops.matmul(f, self.hidden_kernel)) + f
        return logits + ops.matmul(h, self.output_kernel)

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "target_vocab": self.target_vocab}


@keras.saving.register_keras_serializable(package="lstm_apps")
class TiedEmbedding(keras.layers.ReversibleEmbedding):
    """``keras.layers.ReversibleEmbedding`` that keeps the padding mask when it scores outputs.

    The output layer of tied embeddings (Press & Wolf 2017). Called on token
    ids it embeds them (and masks id 0 with
    ``mask_zero=True``); called with ``reverse=True`` on vectors of
    ``output_dim`` it returns their logits against every embedding row. Keras's
    layer drops the incoming mask in that direction; here the logits keep it
    (the target padding), so a loss averages over real tokens as with a
    ``Dense`` output layer.

    Args:
        input_dim, output_dim, mask_zero, **kwargs: as for
            ``keras.layers.ReversibleEmbedding`` (``tie_weights=True``).

    Call arguments:
        inputs: token ids, or ``(..., output_dim)`` vectors with ``reverse=True``.
        reverse: score vectors against the embedding matrix.

    Example:

    >>> layer = TiedEmbedding(5, 3, mask_zero=True)
    >>> tuple(layer(np.array([[4, 0]])).shape)
    (1, 2, 3)
    >>> tuple(layer(np.ones((1, 2, 3), "float32"), reverse=True).shape)
    (1, 2, 5)
    """

    def compute_mask(self, inputs, mask=None):
        # token ids: the parent's call has set the mask already; vectors (reverse=True): keep theirs
        return mask


@keras.saving.register_keras_serializable(package="lstm_apps")
class EnsembleLogProbs(keras.layers.Layer):
    """Ensemble of next-token distributions: the log of the members' mean probability.

    The usual way to decode with several translation models at once
    (Sutskever et al. 2014 ensembled five LSTMs; fairseq's ``EnsembleModel``
    does the same): every member scores the next token, and the ensemble's
    distribution is the average of the members' softmax probabilities,
    returned as log-probabilities (``logsumexp_i log p_i - log n``), which
    greedy decoding, beam search and sampling accept like logits.

    Call arguments:
        inputs: a list of logit tensors of the same shape ``(..., vocab)``.

    Example:

    >>> a, b = np.log([[0.5, 0.5]]), np.log([[0.9, 0.1]])
    >>> [round(float(p), 2) for p in np.exp(EnsembleLogProbs()([a, b]))[0]]
    [0.7, 0.3]
    """

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise ValueError(
                "EnsembleLogProbs expects a non-empty list of logit tensors, "
                f"received {type(inputs).__name__}."
            )
        log_probs = ops.stack([ops.log_softmax(ops.cast(x, "float32"), axis=-1) for x in inputs], axis=0)
        return ops.logsumexp(log_probs, axis=0) - float(np.log(len(inputs)))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


@keras.saving.register_keras_serializable(package="lstm_apps")
class FeatureSlice(keras.layers.Layer):
    """Features ``start:stop`` of the last axis (one member's part of concatenated encoder outputs).

    Args:
        start, stop: the slice of the last axis, ``0 <= start < stop``.

    Call arguments:
        inputs: a tensor ``(..., features)`` with ``features >= stop``.
        mask: passed through (the time steps keep their padding mask).

    Example:

    >>> FeatureSlice(1, 3)(np.arange(8.0).reshape(1, 2, 4)).numpy().tolist()
    [[[1.0, 2.0], [5.0, 6.0]]]
    """

    def __init__(self, start: int, stop: int, **kwargs):
        super().__init__(**kwargs)
        if isinstance(start, bool) or isinstance(stop, bool) or not (0 <= int(start) < int(stop)):
            raise ValueError(
                f"FeatureSlice needs 0 <= start < stop, received start={start!r}, stop={stop!r}."
            )
        self.start, self.stop = int(start), int(stop)
        self.supports_masking = True

    def call(self, inputs):
        return inputs[..., self.start : self.stop]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.stop - self.start)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}
