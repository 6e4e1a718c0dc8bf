"""Encoder–decoder (sequence-to-sequence) recurrent networks for translation.

The architecture of Sutskever, Vinyals & Le (2014), "Sequence to Sequence
Learning with Neural Networks": a recurrent encoder reads the source, its
final states initialise a recurrent decoder that is trained with teacher
forcing (it reads the reference target shifted by one token) and, at
inference, runs one step at a time on its own predictions (greedy or beam
search). Optionally the decoder attends over all encoder outputs:
``"luong"`` scores with a dot product (``keras.layers.Attention``, Luong,
Pham & Manning 2015), ``"bahdanau"`` with an additive network
(``keras.layers.AdditiveAttention``, Bahdanau, Cho & Bengio 2015); in both
the context vector is concatenated with the decoder output and passed
through ``tanh`` (Luong's "attentional hidden state", without input feeding).

Pieces:

* tokenizers: :class:`SubwordTokenizer` (byte-pair encoding, Sennrich,
  Haddow & Birch 2016, learned from the training text) and
  :class:`CharTokenizer`;
* :func:`build_seq2seq`: the training model plus the separate ``encoder``
  and one-step ``decoder_step`` models that share its weights (each can be
  saved as a ``.keras`` file and exported on its own), optionally with the
  word dropout of Sennrich & Zhang (2019);
* :class:`SmoothedSparseCategoricalCrossentropy`: the training loss with
  label smoothing (Keras's sparse cross-entropy has none);
* :func:`greedy_decode`, :func:`beam_search`, and :func:`sample_decode`
  with :func:`mbr_select` for minimum-Bayes-risk decoding;
* :class:`PairBatches`: length-bucketed, padded training batches;
* :class:`Translator`: tokenizers + encoder + decoder step, ``translate``,
  ``save`` and ``load``; :func:`choose_length_penalty` tunes its beam
  search's length penalty on held-out pairs.

Example:

```python
from lstm_apps.seq2seq import SubwordTokenizer, build_seq2seq, PairBatches, Translator
src_tok = SubwordTokenizer.train(sources, vocab_size=500)
tgt_tok = SubwordTokenizer.train(targets, vocab_size=500)
parts = build_seq2seq(src_tok.vocab_size, tgt_tok.vocab_size, cell="lstm", units=128)
parts.model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
parts.model.fit(PairBatches(src_tok.encode_batch(sources), tgt_tok.encode_batch(targets)).dataset(), epochs=5)
translator = Translator(parts.encoder, parts.decoder_step, src_tok, tgt_tok, attention="luong")
translator.translate(["three hundred twenty-one"], beam_width=4)
```
"""

from __future__ import annotations

import heapq
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import ops

from lstm_apps import io as _io
from lstm_apps.layers import recurrent

__all__ = [
    "PAD",
    "UNK",
    "BOS",
    "EOS",
    "ATTENTION_KINDS",
    "CharTokenizer",
    "SubwordTokenizer",
    "tokenizer_from_config",
    "PaddingMask",
    "LastStep",
    "LexicalModel",
    "TiedEmbedding",
    "SmoothedSparseCategoricalCrossentropy",
    "Seq2SeqParts",
    "build_seq2seq",
    "attention_weights",
    "greedy_decode",
    "beam_search",
    "sample_decode",
    "mbr_select",
    "sentence_chrf_matrix",
    "PairBatches",
    "Translator",
    "EnsembleLogProbs",
    "FeatureSlice",
    "ensemble_models",
    "DEFAULT_LENGTH_PENALTIES",
    "choose_length_penalty",
]

PAD, UNK, BOS, EOS = 0, 1, 2, 3
_SPECIALS = ("<pad>", "<unk>", "<s>", "</s>")
_SPACE = "\u2581"  # "▁" marks the start of a word, as in SentencePiece
ATTENTION_KINDS = ("luong", "bahdanau", "none")


# ---------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------
class _Tokenizer:
    """Shared parts: ids 0..3 are ``<pad> <unk> <s> </s>``."""

    kind = "base"

    def __init__(self, symbols: Sequence[str]):
        symbols = list(symbols)
        if tuple(symbols[:4]) != _SPECIALS:
            raise ValueError(f"A vocabulary must start with {_SPECIALS}, received {symbols[:4]!r}.")
        self.symbols = symbols
        self.index = {s: i for i, s in enumerate(symbols)}

    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    def tokenize(self, text: str) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no ``<s>``/``</s>``); unknown symbols map to ``<unk>``."""
        return [self.index.get(s, UNK) for s in self.tokenize(text)]

    def encode_batch(self, texts: Iterable[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``, stopping at ``</s>`` and skipping ``<pad>``/``<s>``."""
        pieces = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i in (PAD, BOS):
                continue
            pieces.append("\u2047" if i == UNK else self.symbols[i])
        return self._join(pieces)

    def _join(self, pieces: list[str]) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"kind": self.kind, "symbols": self.symbols}


class CharTokenizer(_Tokenizer):
    """One token per character.

    Example:

    >>> tok = CharTokenizer.train(["abc", "cab"])
    >>> tok.decode(tok.encode("cab"))
    'cab'
    """

    kind = "char"

    @classmethod
    def train(cls, texts: Iterable[str]) -> CharTokenizer:
        chars = sorted({c for t in texts for c in t})
        return cls(list(_SPECIALS) + chars)

    def tokenize(self, text: str) -> list[str]:
        return list(text)

    def _join(self, pieces):
        return "".join(pieces)


_PIECE = re.compile(r"\w+|[^\w\s]")


def _words(text: str) -> list[str]:
    """Pre-tokens that merges never cross: ``"▁"`` + each word's leading run of
    letters/digits, then its punctuation marks on their own (``"Land."`` ->
    ``["▁Land", "."]``). Joining them and turning ``"▁"`` into spaces gives
    back the text."""
    out = []
    for word in text.split():
        pieces = _PIECE.findall(word)
        out.append(_SPACE + pieces[0])
        out.extend(pieces[1:])
    return out


class SubwordTokenizer(_Tokenizer):
    """Byte-pair encoding of Sennrich, Haddow & Birch (2016), "Neural Machine
    Translation of Rare Words with Subword Units".

    Training starts from characters (a word is ``"▁" + word``, so spaces are
    recoverable) and repeatedly merges the most frequent adjacent pair of
    symbols until the vocabulary reaches ``vocab_size`` or no pair occurs
    ``min_frequency`` times (ties go to the lexicographically smallest pair).
    Encoding applies the merges in the order they were learned. No subword library ships with the project's dependencies,
    so this is written out here (about 60 lines).

    Args:
        symbols: the vocabulary (specials first).
        merges: the learned merges, in order, as ``(left, right)`` pairs.

    Example:

    >>> tok = SubwordTokenizer.train(["einundzwanzig", "zweiundzwanzig"] * 3, vocab_size=30)
    >>> tok.decode(tok.encode("einundzwanzig"))
    'einundzwanzig'
    """

    kind = "subword"

    def __init__(self, symbols: Sequence[str], merges: Sequence[Sequence[str]]):
        super().__init__(symbols)
        self.merges = [tuple(m) for m in merges]
        self.ranks = {m: r for r, m in enumerate(self.merges)}
        self._cache: dict[str, list[str]] = {}

    @classmethod
    def train(
        cls, texts: Iterable[str], vocab_size: int = 2000, min_frequency: int = 2
    ) -> SubwordTokenizer:
        if (
            isinstance(vocab_size, bool)
            or not isinstance(vocab_size, (int, np.integer))
            or vocab_size <= len(_SPECIALS)
        ):
            raise ValueError(f"vocab_size must be an integer > {len(_SPECIALS)}, received {vocab_size!r}.")
        freq = Counter(w for t in texts for w in _words(t))
        if not freq:
            raise ValueError("Cannot learn a subword vocabulary from empty texts.")
        words = [list(w) for w in freq]
        counts = list(freq.values())
        alphabet = sorted({c for w in words for c in w})
        pair_count: dict[tuple[str, str], int] = defaultdict(int)
        where: dict[tuple[str, str], set[int]] = defaultdict(set)
        for i, (w, f) in enumerate(zip(words, counts)):
            for p in zip(w, w[1:]):
                pair_count[p] += f
                where[p].add(i)
        # A heap of (-count, pair) finds the most frequent pair (ties: the lexicographically
        # smallest, so training is reproducible); entries whose count changed since are skipped.
        heap = [(-c, p) for p, c in pair_count.items()]
        heapq.heapify(heap)
        merges: list[tuple[str, str]] = []
        while len(_SPECIALS) + len(alphabet) + len(merges) < vocab_size and heap:
            negative, best = heapq.heappop(heap)
            if pair_count.get(best) != -negative:
                continue  # stale
            if -negative < min_frequency:
                break
            merges.append(best)
            joined = best[0] + best[1]
            changed = set()
            for i in sorted(where.pop(best, ())):
                w, f = words[i], counts[i]
                for p in zip(w, w[1:]):
                    pair_count[p] -= f
                    changed.add(p)
                new = _merge(w, best, joined)
                for p in zip(new, new[1:]):
                    pair_count[p] += f
                    where[p].add(i)
                    changed.add(p)
                words[i] = new
            pair_count.pop(best, None)
            changed.discard(best)
            for p in changed:
                if pair_count.get(p, 0) <= 0:
                    pair_count.pop(p, None)
                else:
                    heapq.heappush(heap, (-pair_count[p], p))
        symbols = list(_SPECIALS) + alphabet + [a + b for a, b in merges]
        symbols = list(dict.fromkeys(symbols))  # a merge can recreate an existing symbol
        return cls(symbols, merges)

    def _segment(self, word: str) -> list[str]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        sym = list(word)
        while len(sym) > 1:
            ranked = [(self.ranks.get(p, len(self.ranks)), j) for j, p in enumerate(zip(sym, sym[1:]))]
            rank, _ = min(ranked)
            if rank == len(self.ranks):
                break
            pair = self.merges[rank]
            sym = _merge(sym, pair, pair[0] + pair[1])
        if len(self._cache) < 200_000:
            self._cache[word] = sym
        return sym

    def tokenize(self, text: str) -> list[str]:
        return [s for w in _words(text) for s in self._segment(w)]

    def _join(self, pieces):
        return "".join(pieces).replace(_SPACE, " ").strip()

    def get_config(self) -> dict:
        return {**super().get_config(), "merges": [list(m) for m in self.merges]}


def _merge(symbols: list[str], pair: tuple[str, str], joined: str) -> list[str]:
    out, j, n = [], 0, len(symbols)
    while j < n:
        if j < n - 1 and symbols[j] == pair[0] and symbols[j + 1] == pair[1]:
            out.append(joined)
            j += 2
        else:
            out.append(symbols[j])
            j += 1
    return out


def tokenizer_from_config(config: dict) -> _Tokenizer:
    """Rebuild a tokenizer from its ``get_config()``."""
    kind = config.get("kind")
    if kind == "char":
        return CharTokenizer(config["symbols"])
    if kind == "subword":
        return SubwordTokenizer(config["symbols"], config["merges"])
    raise ValueError(f"Unknown tokenizer kind {kind!r}; expected 'char' or 'subword'.")


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------
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
class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy with label smoothing (Szegedy et al. 2016).

    The integer target ``y`` becomes the distribution
    ``(1 - label_smoothing) * one_hot(y) + label_smoothing / V`` over the
    ``V`` classes (the convention of
    ``keras.losses.CategoricalCrossentropy(label_smoothing=...)``) and the
    loss is its cross-entropy with the predicted distribution. Sennrich &
    Zhang (2019), "Revisiting Low-Resource Neural Machine Translation", use
    it (with word dropout, see :func:`build_seq2seq`) against overfitting on
    small corpora. ``keras.losses.SparseCategoricalCrossentropy`` takes no
    ``label_smoothing`` argument in Keras 3, hence this class; with
    ``label_smoothing=0`` the two agree. Keras masks on ``y_pred`` (the
    padding mask that a ``mask_zero=True`` target embedding carries to the
    logits), sample weights and the reduction are applied by
    ``keras.losses.Loss.__call__``, exactly as for the built-in losses.

    Args:
        from_logits: whether ``y_pred`` holds logits (``True``) or
            probabilities.
        label_smoothing: the probability mass spread uniformly over all
            classes, a float in ``[0, 1)``; 0 is the plain cross-entropy.
        reduction: as for every Keras loss (default
            ``"sum_over_batch_size"``).
        name: the loss's name.
        dtype: the dtype of the computation (default ``keras.backend.floatx()``).

    Example:

    >>> loss = SmoothedSparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    >>> round(float(loss(np.array([1]), np.log(np.array([[0.25, 0.75]])))), 4)
    0.3975
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction="sum_over_batch_size",
        name: str = "smoothed_sparse_categorical_crossentropy",
        dtype=None,
    ):
        if (
            isinstance(label_smoothing, bool)
            or not isinstance(label_smoothing, (int, float, np.integer, np.floating))
            or not 0.0 <= label_smoothing < 1.0
        ):
            raise ValueError(f"label_smoothing must be a float in [0, 1), received {label_smoothing!r}.")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, axis=-1)
        if self.from_logits:
            log_probs = ops.log_softmax(y_pred, axis=-1)
        else:  # as keras.ops.categorical_crossentropy does for probabilities
            probs = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
            log_probs = ops.log(ops.clip(probs, keras.backend.epsilon(), 1.0 - keras.backend.epsilon()))
        n_classes = ops.shape(y_pred)[-1]
        target = ops.one_hot(ops.cast(y_true, "int32"), n_classes, dtype=log_probs.dtype)
        if self.label_smoothing:
            target = target * (1.0 - self.label_smoothing) + self.label_smoothing / ops.cast(
                n_classes, log_probs.dtype
            )
        return -ops.sum(target * log_probs, axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
        }


@keras.saving.register_keras_serializable(package="lstm_apps")
class LexicalModel(keras.layers.Layer):
    """Lexical translation model of Nguyen & Chiang (2018), "Improving Lexical Choice in Neural Machine Translation".

    The attention weights of each decoder step average the *source
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
    >>> layer([np.zeros((2, 3, 7), "float32"), np.full((2, 3, 4), 0.25, "float32"), np.ones((2, 4, 5), "float32")]).shape
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
                f"LexicalModel expects [decoder logits (batch, target_len, {self.target_vocab}), attention weights (batch, target_len, source_len), "
                f"source embeddings (batch, source_len, embed_dim)], received shapes {logits_shape}, {weights_shape} and {embedding_shape}."
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
    """``keras.layers.ReversibleEmbedding`` that keeps the padding mask when it scores outputs (Press & Wolf 2017).

    Called on token ids it embeds them (and masks id 0 with
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
    >>> tuple(layer(np.array([[4, 0]])).shape), tuple(layer(np.ones((1, 2, 3), "float32"), reverse=True).shape)
    ((1, 2, 3), (1, 2, 5))
    """

    def compute_mask(self, inputs, mask=None):
        # token ids: the parent's call has set the mask already; vectors (reverse=True): keep theirs
        return mask


@dataclass
class Seq2SeqParts:
    """The three models built by :func:`build_seq2seq` (they share weights).

    Attributes:
        model: training model, inputs ``[source_ids, target_in_ids]`` ->
            logits ``(batch, target_len, target_vocab)``.
        encoder: ``source_ids`` -> ``[encoder_outputs, *states]``.
        decoder_step: ``[token (batch, 1), *states, encoder_outputs,
            source_ids]`` -> ``[logits (batch, target_vocab), *new_states]``
            (``encoder_outputs`` and ``source_ids`` only with attention).
        n_states: 2 for LSTM kinds (``[h, c]`` or, for ``lstm1997``, ``[h, s]``),
            1 for GRU and SimpleRNN.
        attention: ``"luong"``, ``"bahdanau"`` or ``"none"``.
        attention_model: ``[source_ids, target_in_ids]`` -> ``[decoder
            outputs, encoder outputs]``, the attention layer's query and
            value (None without attention); see :func:`attention_weights`.
    """

    model: keras.Model
    encoder: keras.Model
    decoder_step: keras.Model
    n_states: int
    attention: str
    attention_model: keras.Model | None = None


def build_seq2seq(
    source_vocab: int,
    target_vocab: int,
    *,
    cell: str = "lstm",
    units: int = 256,
    embed_dim: int = 128,
    attention: str = "luong",
    dropout: float = 0.0,
    word_dropout: float = 0.0,
    bidirectional_encoder: bool = False,
    lexical_model: bool = False,
    tie_embeddings: bool = False,
) -> Seq2SeqParts:
    """Build an encoder–decoder translation model and its inference parts.

    Args:
        source_vocab, target_vocab: vocabulary sizes (id 0 is padding).
        cell: a kind of :func:`lstm_apps.layers.recurrent` (``"lstm1997"``,
            ``"lstm"``, ``"gru"``, ``"simple_rnn"``); the encoder's final
            states (however many the cell has) initialise the decoder.
        units: recurrent units of encoder and decoder.
        embed_dim: token embedding size.
        attention: ``"luong"`` (dot-product scores), ``"bahdanau"`` (additive
            scores) or ``"none"`` (the decoder sees the source only through
            the initial states, as in Sutskever et al.).
        dropout: dropout rate on embeddings and the decoder's output.
        word_dropout: probability of dropping a whole token in training: its
            embedding vector (all ``embed_dim`` entries at once) is set to
            zero and the kept ones are scaled by ``1 / (1 - word_dropout)``:
            the word dropout that Sennrich & Zhang (2019) use for
            low-resource translation. Each position is drawn on its own, as
            in Nematus' ``dropout_source`` / ``dropout_target`` (Gal &
            Ghahramani 2016 instead drop a word type at all its positions).
            It applies to the source embeddings and to the decoder's
            teacher-forcing input embeddings (the previous target token), as
            in the Edinburgh Nematus systems that paper builds on.
            The padding mask is kept (a dropped token is a zero vector, not
            padding), and at inference the layers are the identity, so the
            encoder and the one-step decoder are unchanged.
        bidirectional_encoder: read the source in both directions
            (``keras.layers.Bidirectional``) with ``units // 2`` units each,
            as in Bahdanau et al. (2015) and the bottom layer of GNMT (Wu et
            al. 2016). The two directions' outputs are concatenated, so the
            attention still sees ``units`` features per source token, and so
            are their final states (forward ``[h, c]`` beside backward
            ``[h, c]``), which start a decoder of ``units`` units. ``units``
            must then be even.
        lexical_model: add the logits of a :class:`LexicalModel` (Nguyen &
            Chiang 2018): the attention weights average the source
            embeddings, and a small network maps that average to the target
            vocabulary beside the decoder's own projection. Needs attention.
        tie_embeddings: score the output tokens with the target embedding
            matrix (Press & Wolf 2017; Sennrich & Zhang 2019 tie them for
            low-resource translation): the decoder's output is projected
            linearly to ``embed_dim`` and multiplied by the transposed
            embeddings (:class:`TiedEmbedding`), instead of a
            separate ``(units, target_vocab)`` output layer, so a target
            token's input and output vectors are one and the same.

    Returns:
        :class:`Seq2SeqParts`.
    """
    for name, value in (
        ("source_vocab", source_vocab),
        ("target_vocab", target_vocab),
        ("units", units),
        ("embed_dim", embed_dim),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, received {value!r}.")
    if attention not in ATTENTION_KINDS:
        raise ValueError(f"attention must be one of {ATTENTION_KINDS}, received {attention!r}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), received {dropout!r}.")
    if (
        isinstance(word_dropout, bool)
        or not isinstance(word_dropout, (int, float, np.integer, np.floating))
        or not 0.0 <= word_dropout < 1.0
    ):
        raise ValueError(f"word_dropout must be a float in [0, 1), received {word_dropout!r}.")
    if bidirectional_encoder and units % 2:
        raise ValueError(
            f"units must be even with bidirectional_encoder=True (units // 2 per direction), received {units}."
        )
    if lexical_model and attention == "none":
        raise ValueError(
            "lexical_model=True needs attention ('luong' or 'bahdanau'), received attention='none'."
        )
    L = keras.layers
    source = keras.Input((None,), dtype="int32", name="source_ids")
    target_in = keras.Input((None,), dtype="int32", name="target_in_ids")

    src_embedding = L.Embedding(source_vocab, embed_dim, mask_zero=True, name="source_embedding")
    if bidirectional_encoder:
        encoder_rnn = L.Bidirectional(
            recurrent(cell, units // 2, return_sequences=True, return_state=True, name="encoder_cell"),
            merge_mode="concat",
            name="encoder",
        )
    else:
        encoder_rnn = recurrent(cell, units, return_sequences=True, return_state=True, name="encoder")
    if tie_embeddings:
        tgt_embedding = TiedEmbedding(
            target_vocab, embed_dim, mask_zero=True, tie_weights=True, name="target_embedding"
        )
    else:
        tgt_embedding = L.Embedding(target_vocab, embed_dim, mask_zero=True, name="target_embedding")
    decoder_rnn = recurrent(cell, units, return_sequences=True, return_state=True, name="decoder")
    attend = None
    if attention == "luong":
        attend = L.Attention(name="attention")
    elif attention == "bahdanau":
        attend = L.AdditiveAttention(name="attention")
    combine = L.Dense(units, activation="tanh", name="attentional_state") if attend is not None else None
    drop = L.Dropout(dropout, name="output_dropout") if dropout else None
    emb_drop = L.Dropout(dropout, name="embedding_dropout") if dropout else None
    # whole-token dropout: one keep/drop draw per (sentence, position), broadcast over the features
    src_word_drop = (
        L.Dropout(word_dropout, noise_shape=(None, None, 1), name="source_word_dropout")
        if word_dropout
        else None
    )
    tgt_word_drop = (
        L.Dropout(word_dropout, noise_shape=(None, None, 1), name="target_word_dropout")
        if word_dropout
        else None
    )
    if tie_embeddings:  # a linear map to the embedding space; the tied embedding matrix does the rest
        to_embedding = L.Dense(embed_dim, name="output_projection")

        def project(h):
            return tgt_embedding(to_embedding(h), reverse=True)

    else:
        project = L.Dense(target_vocab, name="logits")
    lexical = LexicalModel(target_vocab, name="lexical_model") if lexical_model else None

    # encoder
    x = source_embedded = src_embedding(source)
    if src_word_drop is not None:
        x = src_word_drop(x)
    if emb_drop is not None:
        x = emb_drop(x)
    encoder_outputs, *encoder_states = encoder_rnn(x)
    if bidirectional_encoder:  # [*forward states, *backward states] -> one state of `units` per kind
        half = len(encoder_states) // 2
        encoder_states = [
            L.Concatenate(name=f"encoder_state_{i}")([f, b])
            for i, (f, b) in enumerate(zip(encoder_states[:half], encoder_states[half:]))
        ]
    n_states = len(encoder_states)

    def decode(tokens, states, enc_out, enc_mask, src_emb):
        y = tgt_embedding(tokens)
        if tgt_word_drop is not None:
            y = tgt_word_drop(y)
        if emb_drop is not None:
            y = emb_drop(y)
        out, *new_states = decoder_rnn(y, initial_state=list(states))
        raw = out
        weights = None
        if attend is not None:
            mask = None if enc_mask is None else [None, enc_mask]  # else masks propagate from the embeddings
            if lexical is not None:
                context, weights = attend([out, enc_out], mask=mask, return_attention_scores=True)
            else:
                context = attend([out, enc_out], mask=mask)
            out = combine(L.Concatenate(name=None)([out, context]))
        if drop is not None:
            out = drop(out)
        logits = project(out)
        if lexical is not None:
            logits = lexical([logits, weights, src_emb])
        return logits, new_states, raw

    logits, _, decoder_outputs = decode(target_in, encoder_states, encoder_outputs, None, source_embedded)
    model = keras.Model([source, target_in], logits, name="seq2seq")
    encoder = keras.Model(source, [encoder_outputs, *encoder_states], name="encoder")

    token = keras.Input((1,), dtype="int32", name="token")
    state_inputs = [keras.Input((int(s.shape[-1]),), name=f"state_{i}") for i, s in enumerate(encoder_states)]
    step_inputs = [token, *state_inputs]
    enc_out_in = src_in = enc_mask = step_src_emb = None
    if attend is not None:
        enc_out_in = keras.Input((None, units), name="encoder_outputs")
        src_in = keras.Input((None,), dtype="int32", name="step_source_ids")
        enc_mask = PaddingMask(name="source_mask")(src_in)
        step_inputs += [enc_out_in, src_in]
        if lexical is not None:
            step_src_emb = src_embedding(src_in)
    step_logits, new_states, _ = decode(token, state_inputs, enc_out_in, enc_mask, step_src_emb)
    step_logits = LastStep(name="step_logits")(step_logits)
    decoder_step = keras.Model(step_inputs, [step_logits, *new_states], name="decoder_step")
    attention_model = None
    if attend is not None:
        attention_model = keras.Model(
            [source, target_in], [decoder_outputs, encoder_outputs], name="attention_inputs"
        )
    return Seq2SeqParts(model, encoder, decoder_step, n_states, attention, attention_model)


def attention_weights(
    parts: Seq2SeqParts, source_ids: Sequence[int], target_ids: Sequence[int]
) -> np.ndarray:
    """Attention of each decoder step over the source tokens for one pair.

    Args:
        parts: built by :func:`build_seq2seq` with attention.
        source_ids: the source token ids.
        target_ids: the target token ids (without ``<s>``/``</s>``), e.g. the
            model's own translation; the decoder reads ``<s> target``.

    Returns:
        ``(len(target_ids) + 1, len(source_ids))`` weights, each row sums to
        1; the last row is the step that writes ``</s>``.
    """
    if parts.attention_model is None:
        raise ValueError(
            "attention_weights needs a model built with attention='luong' or 'bahdanau', received attention='none'."
        )
    if not len(source_ids):
        raise ValueError("source_ids is empty; expected at least one token.")
    src = np.asarray([list(source_ids)], dtype="int32")
    tgt = np.asarray([[BOS, *target_ids]], dtype="int32")
    query, value = parts.attention_model.predict_on_batch([src, tgt])
    layer = parts.model.get_layer("attention")
    _, weights = layer(
        [ops.convert_to_tensor(query), ops.convert_to_tensor(value)],
        mask=[None, ops.convert_to_tensor(src != PAD)],
        return_attention_scores=True,
    )
    return ops.convert_to_numpy(weights)[0]


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------
def _pad(seqs: Sequence[Sequence[int]], multiple: int = 1, min_len: int = 1) -> np.ndarray:
    n = max(min_len, max((len(s) for s in seqs), default=0))
    n = -(-n // multiple) * multiple
    out = np.zeros((len(seqs), n), dtype="int32")
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype("float64")
    m = logits.max(axis=-1, keepdims=True)
    return logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))


def _encode(encoder, source_ids):
    outs = encoder.predict_on_batch(source_ids)
    return np.asarray(outs[0]), [np.asarray(s) for s in outs[1:]]


def _step(decoder_step, tokens, states, enc_out, source_ids, attention: bool):
    inputs = [tokens[:, None].astype("int32"), *states]
    if attention:
        inputs += [enc_out, source_ids]
    outs = decoder_step.predict_on_batch(inputs)
    return np.asarray(outs[0]), [np.asarray(s) for s in outs[1:]]


def greedy_decode(
    encoder, decoder_step, source_ids: np.ndarray, *, max_length: int, attention: bool = True
) -> list[list[int]]:
    """Decode a padded batch of source ids by taking the most likely token each step.

    Args:
        encoder, decoder_step: the models of :class:`Seq2SeqParts`.
        source_ids: int array ``(batch, source_len)``, 0-padded.
        max_length: most target tokens produced per sentence.
        attention: whether ``decoder_step`` takes the encoder outputs.

    Returns:
        One list of target ids per sentence (without ``<s>``/``</s>``).
    """
    source_ids = np.asarray(source_ids, dtype="int32")
    enc_out, states = _encode(encoder, source_ids)
    return _decode_rows(
        decoder_step,
        states,
        enc_out,
        source_ids,
        max_length,
        attention,
        lambda logits: logits.argmax(axis=-1),
    )


def _decode_rows(
    decoder_step, states, enc_out, source_ids, max_length: int, attention: bool, choose
) -> list[list[int]]:
    """Run the one-step decoder from ``<s>``, one token per row and step, ``choose(logits)`` picking it, until ``</s>``."""
    rows = len(source_ids)
    tokens = np.full(rows, BOS, dtype="int32")
    done = np.zeros(rows, dtype=bool)
    result: list[list[int]] = [[] for _ in range(rows)]
    for _ in range(max_length):
        logits, states = _step(decoder_step, tokens, states, enc_out, source_ids, attention)
        tokens = np.asarray(choose(logits)).astype("int32")
        for i in np.flatnonzero(~done):
            if tokens[i] == EOS:
                done[i] = True
            else:
                result[i].append(int(tokens[i]))
        tokens[done] = EOS
        if done.all():
            break
    return result


def sample_decode(
    encoder,
    decoder_step,
    source_ids: np.ndarray,
    *,
    max_length: int,
    num_samples: int,
    epsilon: float = 0.02,
    seed: int | None = None,
    attention: bool = True,
) -> list[list[list[int]]]:
    """Draw ``num_samples`` translations of each sentence by epsilon sampling.

    Each step samples the next token from the decoder's distribution after
    dropping the tokens whose probability is below ``epsilon`` (the most
    likely token always stays) and renormalising: the truncation sampling of
    Hewitt, Manning & Liang (2022), which Freitag et al. (2023) found the
    best source of candidates for minimum-Bayes-risk decoding
    (:func:`mbr_select`).

    Args:
        encoder, decoder_step, source_ids, max_length, attention: as in
            :func:`greedy_decode`.
        num_samples: translations drawn per sentence.
        epsilon: probability floor in [0, 1); 0 samples from the full
            distribution.
        seed: seed of the NumPy generator (``None``: unseeded).

    Returns:
        For each sentence, ``num_samples`` lists of target ids.
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise ValueError(f"num_samples must be a positive integer, received {num_samples!r}.")
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, (int, float, np.floating))
        or not 0.0 <= epsilon < 1.0
    ):
        raise ValueError(f"epsilon must be a number in [0, 1), received {epsilon!r}.")
    rng = np.random.default_rng(seed)
    source_ids = np.asarray(source_ids, dtype="int32")
    n, batch = int(num_samples), len(source_ids)
    enc_out, states = _encode(encoder, source_ids)
    enc_out, src_rep = np.repeat(enc_out, n, axis=0), np.repeat(source_ids, n, axis=0)
    states = [np.repeat(s, n, axis=0) for s in states]

    def draw(logits):
        probs = np.exp(_log_softmax(logits))
        rows = np.arange(len(probs))
        best = probs.argmax(axis=-1)
        kept = np.where(probs >= epsilon, probs, 0.0)
        kept[rows, best] = probs[rows, best]  # the most likely token always stays
        cdf = kept.cumsum(axis=-1)
        u = rng.random(len(probs)) * cdf[:, -1]
        return np.minimum((cdf <= u[:, None]).sum(axis=-1), probs.shape[-1] - 1)

    result = _decode_rows(decoder_step, states, enc_out, src_rep, max_length, attention, draw)
    return [result[b * n : (b + 1) * n] for b in range(batch)]


def mbr_select(candidates: Sequence[str], pseudo_references: Sequence[str]) -> str:
    """Minimum-Bayes-risk choice: the candidate with the best mean chrF against the pseudo-references.

    Kumar & Byrne (2004); Eikema & Aziz (2020) for neural translation: rather
    than the single most probable output, pick the candidate that agrees
    most, in the metric, with translations sampled from the model (the
    pseudo-references, e.g. from :func:`sample_decode`). The utility is
    sacrebleu's sentence chrF. Repeated strings are scored once and weighted
    by their count; ties go to the earliest candidate.

    Returns:
        The chosen candidate.
    """
    candidates, references = [str(c) for c in candidates], Counter(str(r) for r in pseudo_references)
    if not candidates or not references:
        raise ValueError(
            f"mbr_select needs at least one candidate and one pseudo-reference, received {len(candidates)} and {sum(references.values())}."
        )
    unique = list(dict.fromkeys(candidates))
    scores = sentence_chrf_matrix(unique, list(references))
    expected = scores @ np.array(list(references.values()), dtype="float64")
    return unique[int(np.argmax(expected))]


def _has_chrf_helpers(chrf) -> bool:
    """Whether this sacrebleu ``CHRF`` has the helpers :func:`sentence_chrf_matrix` reuses."""
    return all(
        hasattr(chrf, name)
        for name in (
            "_preprocess_segment",
            "_extract_reference_info",
            "_get_match_statistics",
            "_compute_f_score",
        )
    )


def sentence_chrf_matrix(hypotheses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """Sentence chrF of every hypothesis against every reference, as sacrebleu scores it.

    Equal to ``[[CHRF().sentence_score(h, [r]).score for r in references]
    for h in hypotheses]``, but each string's character n-grams are counted
    once rather than once per pair (sacrebleu's own n-gram extraction, match
    counting and F-score), which is what makes minimum-Bayes-risk decoding
    with dozens of samples affordable: the pairs grow with the square of the
    samples. Should a sacrebleu release drop those helpers, it falls back to
    ``sentence_score`` pair by pair.

    Returns:
        A ``(len(hypotheses), len(references))`` float array of scores in [0, 100].
    """
    from sacrebleu.metrics import CHRF

    chrf = CHRF()
    hypotheses, references = [str(h) for h in hypotheses], [str(r) for r in references]
    if not _has_chrf_helpers(chrf):
        return np.array(
            [[chrf.sentence_score(h, [r]).score for r in references] for h in hypotheses], dtype="float64"
        ).reshape(len(hypotheses), len(references))

    def ngrams(text):
        return chrf._extract_reference_info([chrf._preprocess_segment(text)])["ref_ngrams"][0]

    ref_ngrams = [ngrams(r) for r in references]
    out = np.empty((len(hypotheses), len(references)), dtype="float64")
    for i, hyp in enumerate(hypotheses):
        hyp_ngrams = ngrams(hyp)
        for j, ref in enumerate(ref_ngrams):
            stats = []
            for h, r in zip(hyp_ngrams, ref):
                stats.extend(chrf._get_match_statistics(h, r))
            out[i, j] = chrf._compute_f_score(stats)
    return out


def beam_search(
    encoder,
    decoder_step,
    source_ids: np.ndarray,
    *,
    max_length: int,
    beam_width: int = 4,
    length_penalty: float = 0.6,
    attention: bool = True,
) -> list[list[int]]:
    """Beam search over a padded batch of source ids (all sentences at once).

    Each sentence keeps ``beam_width`` partial translations; every step
    extends each by every token, keeps the ``beam_width`` best by summed
    log-probability, and sets aside those that end in ``</s>``. Finished
    hypotheses (only endings ranked within the beam width count) are ranked
    by log-probability divided by the GNMT length penalty
    ``((5 + length) / 6) ** length_penalty`` (Wu et al. 2016). A sentence
    stops once it has ``beam_width`` finished hypotheses and the best of them
    scores at least the best live beam (normalised at its current length),
    or at ``max_length``.

    Returns:
        One list of target ids per sentence (the best hypothesis).
    """
    if isinstance(beam_width, bool) or not isinstance(beam_width, (int, np.integer)) or beam_width <= 0:
        raise ValueError(f"beam_width must be a positive integer, received {beam_width!r}.")
    source_ids = np.asarray(source_ids, dtype="int32")
    k = int(beam_width)
    batch = len(source_ids)
    enc_out, states = _encode(encoder, source_ids)
    enc_out = np.repeat(enc_out, k, axis=0)
    src_rep = np.repeat(source_ids, k, axis=0)
    states = [np.repeat(s, k, axis=0) for s in states]
    scores = np.full((batch, k), -np.inf)
    scores[:, 0] = 0.0  # all beams start identical: keep one
    history = np.zeros((batch, k, 0), dtype="int32")
    tokens = np.full(batch * k, BOS, dtype="int32")
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]
    active = np.ones(batch, dtype=bool)
    penalty = lambda n: ((5.0 + n) / 6.0) ** length_penalty  # noqa: E731
    for t in range(max_length):
        logits, states = _step(decoder_step, tokens, states, enc_out, src_rep, attention)
        logp = _log_softmax(logits).reshape(batch, k, -1)
        vocab = logp.shape[-1]
        cand = (scores[:, :, None] + logp).reshape(batch, -1)
        n_top = min(2 * k, cand.shape[1])
        top = np.argpartition(-cand, n_top - 1, axis=1)[:, :n_top]
        new_scores = np.full((batch, k), -np.inf)
        origin = np.zeros((batch, k), dtype="int64")
        new_tokens = np.full((batch, k), EOS, dtype="int32")
        for b in range(batch):
            if not active[b]:
                continue
            order = top[b][np.argsort(-cand[b, top[b]], kind="stable")]
            filled = 0
            for rank, flat in enumerate(order):
                score = cand[b, flat]
                if not np.isfinite(score):
                    break
                beam, tok = divmod(int(flat), vocab)
                if tok == EOS:
                    if rank < k:  # an ending ranked below the beam width is not a contender
                        finished[b].append((score / penalty(t + 1), history[b, beam].tolist()))
                    continue
                new_scores[b, filled] = score
                origin[b, filled] = beam
                new_tokens[b, filled] = tok
                filled += 1
                if filled == k:
                    break
            if filled == 0:
                active[b] = False
            elif len(finished[b]) >= k:
                # no live beam can still beat the best finished one (the heuristic of Wu et al.)
                best_done = max(f[0] for f in finished[b])
                active[b] = best_done < new_scores[b, 0] / penalty(t + 1)
        gather = (np.arange(batch)[:, None] * k + origin).reshape(-1)
        states = [s[gather] for s in states]
        history = np.concatenate([history[np.arange(batch)[:, None], origin], new_tokens[:, :, None]], axis=2)
        scores = new_scores
        tokens = new_tokens.reshape(-1)
        if not active.any():
            break
    best: list[list[int]] = []
    for b in range(batch):
        pool = list(finished[b])
        if not pool:  # ran out of length: fall back to the live beams
            pool = [
                (scores[b, j] / penalty(history.shape[2]), history[b, j].tolist())
                for j in range(k)
                if np.isfinite(scores[b, j])
            ]
        best.append(max(pool, key=lambda item: item[0])[1] if pool else [])
    return best


# ---------------------------------------------------------------------------
# Ensembles
# ---------------------------------------------------------------------------
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
    >>> np.exp(EnsembleLogProbs()([a, b])).round(2).tolist()
    [[0.7, 0.3]]
    """

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise ValueError(
                f"EnsembleLogProbs expects a non-empty list of logit tensors, received {type(inputs).__name__}."
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


def ensemble_models(
    encoders: Sequence[keras.Model], decoder_steps: Sequence[keras.Model], attention: str = "luong"
) -> tuple[keras.Model, keras.Model]:
    """One encoder and one one-step decoder that run several trained models as an ensemble.

    The members must share the source and target vocabularies (train them
    on the same split with the same tokenizers, from different seeds); their
    sizes and cells may differ. The ensemble encoder concatenates the
    members' encoder outputs on the feature axis and returns every member's
    states; the ensemble step gives each member its slice and its states
    and returns :class:`EnsembleLogProbs` of their logits with every new
    state. The pair has the interface of :class:`Seq2SeqParts`'
    ``encoder`` and ``decoder_step``, so :func:`greedy_decode`,
    :func:`beam_search`, :func:`sample_decode` and :class:`Translator`
    decode with it unchanged, and it saves as two ``.keras`` files.

    Args:
        encoders, decoder_steps: the members' inference models, in the same
            order.
        attention: the members' attention kind (all the same).

    Returns:
        ``(encoder, decoder_step)``.

    Raises:
        ValueError: no members, unequal counts, an unknown attention kind,
            or members whose vocabularies or step inputs do not match.
    """
    if attention not in ATTENTION_KINDS:
        raise ValueError(f"attention must be one of {ATTENTION_KINDS}, received {attention!r}.")
    encoders, decoder_steps = list(encoders), list(decoder_steps)
    if not encoders or len(encoders) != len(decoder_steps):
        raise ValueError(
            f"Expected one decoder step per encoder and at least one of each, received {len(encoders)} encoders and {len(decoder_steps)} decoder steps."
        )
    extra_inputs = 2 if attention != "none" else 0
    vocabs = {int(step.outputs[0].shape[-1]) for step in decoder_steps}
    if len(vocabs) != 1:
        raise ValueError(
            f"Ensemble members must share the target vocabulary, received vocabulary sizes {sorted(vocabs)}."
        )
    n_states = []
    for i, (encoder, step) in enumerate(zip(encoders, decoder_steps)):
        n = len(step.inputs) - 1 - extra_inputs
        if n <= 0 or len(encoder.outputs) != 1 + n or len(step.outputs) != 1 + n:
            raise ValueError(
                f"Member {i} does not fit attention={attention!r}: its encoder returns {len(encoder.outputs)} tensors "
                f"and its decoder step takes {len(step.inputs)} inputs and returns {len(step.outputs)}."
            )
        n_states.append(n)

    # the members share their layers with the given models but get names of their own ("encoder" would clash)
    encoders = [keras.Model(m.inputs, m.outputs, name=f"member_{i}_encoder") for i, m in enumerate(encoders)]
    decoder_steps = [
        keras.Model(m.inputs, m.outputs, name=f"member_{i}_decoder_step") for i, m in enumerate(decoder_steps)
    ]
    source = keras.Input((None,), dtype="int32", name="source_ids")
    member_outputs = [list(encoder(source)) for encoder in encoders]
    widths = [int(outs[0].shape[-1]) for outs in member_outputs]
    enc_out = (
        member_outputs[0][0]
        if len(encoders) == 1
        else keras.layers.Concatenate(axis=-1, name="encoder_outputs")([o[0] for o in member_outputs])
    )
    encoder = keras.Model(
        source, [enc_out, *[s for outs in member_outputs for s in outs[1:]]], name="ensemble_encoder"
    )

    token = keras.Input((1,), dtype="int32", name="token")
    state_inputs = [
        keras.Input((int(state.shape[-1]),), name=f"member_{i}_state_{j}")
        for i, outs in enumerate(member_outputs)
        for j, state in enumerate(outs[1:])
    ]
    step_inputs = [token, *state_inputs]
    if attention != "none":
        enc_out_in = keras.Input((None, sum(widths)), name="encoder_outputs")
        src_in = keras.Input((None,), dtype="int32", name="step_source_ids")
        step_inputs += [enc_out_in, src_in]
    logits, new_states, at, start = [], [], 1, 0
    for i, (step, n, width) in enumerate(zip(decoder_steps, n_states, widths)):
        inputs = [token, *step_inputs[at : at + n]]
        if attention != "none":
            inputs += [
                FeatureSlice(start, start + width, name=f"member_{i}_encoder_outputs")(enc_out_in),
                src_in,
            ]
        outs = step(inputs)
        logits.append(outs[0])
        new_states += list(outs[1:])
        at, start = at + n, start + width
    log_probs = EnsembleLogProbs(name="ensemble_log_probs")(logits)
    decoder_step = keras.Model(step_inputs, [log_probs, *new_states], name="ensemble_decoder_step")
    return encoder, decoder_step


# ---------------------------------------------------------------------------
# Training batches
# ---------------------------------------------------------------------------
class PairBatches:
    """Length-bucketed teacher-forcing batches of id sequences.

    Pairs are sorted by length (with a little seeded noise), cut into
    batches of similar lengths, and each batch is padded only to its own
    longest sequence (rounded up to a multiple of ``pad_multiple``, which
    bounds how many shapes the training function sees). The batch order is
    reshuffled every epoch. Pass :meth:`dataset` (a ``tf.data.Dataset``
    whose every pass is one epoch) to ``model.fit``.

    Extra pairs (a dictionary, say) can be far more numerous than the
    sentence pairs: every epoch then mixes all sentence pairs with the next
    ``extra_per_epoch`` extra pairs of a seeded shuffle, so the sentences
    keep their weight and successive epochs walk through all extra pairs.

    Each batch is ``((source, target_in), target_out, weights)`` with
    ``target_in = <s> y``, ``target_out = y </s>`` and ``weights`` 1 on real
    target tokens, 0 on padding.

    Args:
        source_ids, target_ids: the pairs, lists of id lists.
        batch_size: pairs per batch.
        shuffle: shuffle the batch order every epoch (and add noise to the
            length sort); ``False`` for fixed dev/validation batches.
        seed: NumPy seed.
        pad_multiple: batches are padded to a multiple of this length.
        extra_source_ids, extra_target_ids: extra training pairs.
        extra_per_epoch: how many extra pairs each epoch holds (default
            ``len(source_ids)``, at most all of them).
    """

    def __init__(
        self,
        source_ids,
        target_ids,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int = 0,
        pad_multiple: int = 4,
        extra_source_ids=(),
        extra_target_ids=(),
        extra_per_epoch: int | None = None,
    ):
        if len(source_ids) != len(target_ids):
            raise ValueError(
                f"source_ids and target_ids must have equal length, received {len(source_ids)} and {len(target_ids)}."
            )
        if not len(source_ids):
            raise ValueError("PairBatches needs at least one pair, received none.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, received {batch_size!r}.")
        if len(extra_source_ids) != len(extra_target_ids):
            raise ValueError(
                f"extra_source_ids and extra_target_ids must have equal length, received {len(extra_source_ids)} and {len(extra_target_ids)}."
            )
        if extra_per_epoch is not None and (
            isinstance(extra_per_epoch, bool)
            or not isinstance(extra_per_epoch, (int, np.integer))
            or extra_per_epoch < 0
        ):
            raise ValueError(
                f"extra_per_epoch must be a non-negative integer or None, received {extra_per_epoch!r}."
            )
        self.batch_size = int(batch_size)
        self.source_ids = [list(s) for s in source_ids]
        self.target_ids = [list(t) for t in target_ids]
        self.n_main = len(self.source_ids)
        self.source_ids += [list(s) for s in extra_source_ids]
        self.target_ids += [list(t) for t in extra_target_ids]
        n_extra = len(self.source_ids) - self.n_main
        self.extra_per_epoch = min(n_extra, self.n_main if extra_per_epoch is None else int(extra_per_epoch))
        self.shuffle = shuffle
        self.pad_multiple = pad_multiple
        self.rng = np.random.default_rng(seed)
        self.lengths = np.array(
            [len(s) + len(t) for s, t in zip(self.source_ids, self.target_ids)], dtype="float64"
        )
        self._extra_order = self.n_main + self.rng.permutation(n_extra) if n_extra else np.arange(0)
        self._extra_next = 0
        self._epochs_started = 0
        self.batches = self._bucket(self._epoch_pairs())

    def _bucket(self, pairs: np.ndarray) -> list[np.ndarray]:
        noise = self.rng.uniform(0, 2, size=len(pairs)) if self.shuffle else 0.0
        order = pairs[np.argsort(self.lengths[pairs] + noise, kind="stable")]
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def _epoch_pairs(self) -> np.ndarray:
        """All sentence pairs and the next ``extra_per_epoch`` extra pairs."""
        picked = []
        need = self.extra_per_epoch
        while need:
            if self._extra_next == len(self._extra_order):
                self.rng.shuffle(self._extra_order)
                self._extra_next = 0
            take = self._extra_order[
                self._extra_next : self._extra_next + need
            ].copy()  # the shuffle below is in place
            self._extra_next += len(take)
            need -= len(take)
            picked.append(take)
        return np.concatenate([np.arange(self.n_main), *picked]) if picked else np.arange(self.n_main)

    def __len__(self):
        return len(self.batches)

    def batch(self, index: int):
        """The ``index``-th batch (in length order) of the current epoch."""
        idx = self.batches[index]
        src = _pad([self.source_ids[i] for i in idx], self.pad_multiple)
        tgt_in = _pad([[BOS] + self.target_ids[i] for i in idx], self.pad_multiple)
        tgt_out = _pad([self.target_ids[i] + [EOS] for i in idx], self.pad_multiple)  # same lengths as tgt_in
        return (src, tgt_in), tgt_out, (tgt_out != PAD).astype("float32")

    def __iter__(self):
        if self._epochs_started and self.extra_per_epoch:  # a new epoch draws the next extra pairs
            self.batches = self._bucket(self._epoch_pairs())
        self._epochs_started += 1
        order = np.arange(len(self.batches))
        if self.shuffle:
            self.rng.shuffle(order)
        for i in order:
            yield self.batch(int(i))

    def dataset(self):
        """A ``tf.data.Dataset`` of the batches, reshuffled on every pass."""
        import tensorflow as tf

        ids = tf.TensorSpec((None, None), tf.int32)
        signature = ((ids, ids), ids, tf.TensorSpec((None, None), tf.float32))
        ds = tf.data.Dataset.from_generator(self.__iter__, output_signature=signature)
        return ds.apply(tf.data.experimental.assert_cardinality(len(self.batches))).prefetch(2)


# ---------------------------------------------------------------------------
# Translator
# ---------------------------------------------------------------------------
class Translator:
    """Tokenizers + encoder + one-step decoder: text in, text out.

    Args:
        encoder, decoder_step: the inference models of :class:`Seq2SeqParts`
            (or loaded from ``.keras`` files).
        source_tokenizer, target_tokenizer: the tokenizers used in training.
        attention: the model's attention kind (``"none"`` when the decoder
            step takes no encoder outputs).
        max_length_ratio, max_length_offset: a translation stops after
            ``ratio * source_tokens + offset`` target tokens.
        length_penalty: the GNMT length-penalty exponent beam search uses
            when ``translate`` is not given one (saved with the translator;
            :func:`choose_length_penalty` picks it on held-out pairs).
    """

    def __init__(
        self,
        encoder,
        decoder_step,
        source_tokenizer,
        target_tokenizer,
        attention: str = "luong",
        max_length_ratio: float = 2.0,
        max_length_offset: int = 10,
        length_penalty: float = 0.6,
    ):
        if attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, received {attention!r}.")
        self.length_penalty = _check_length_penalty(length_penalty)
        self.encoder = encoder
        self.decoder_step = decoder_step
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.attention = attention
        self.max_length_ratio = float(max_length_ratio)
        self.max_length_offset = int(max_length_offset)

    def translate(
        self,
        sentences: Sequence[str] | str,
        beam_width: int = 1,
        batch_size: int = 64,
        length_penalty: float | None = None,
        mbr_samples: int = 0,
        epsilon: float = 0.02,
        seed: int | None = 0,
    ) -> list[str] | str:
        """Translate one sentence (returns a string) or a list (returns a list).

        ``beam_width=1`` decodes greedily; more runs :func:`beam_search` with
        ``length_penalty`` (default: the translator's own). With
        ``mbr_samples > 0`` the output is the minimum-Bayes-risk choice
        (:func:`mbr_select`) among that greedy or beam translation and
        ``mbr_samples`` epsilon samples (:func:`sample_decode` with
        ``epsilon`` and ``seed``), the samples serving as pseudo-references.
        Sentences are batched by length; the output keeps the input order.
        """
        length_penalty = (
            self.length_penalty if length_penalty is None else _check_length_penalty(length_penalty)
        )
        _check_mbr_samples(mbr_samples)
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        out: list[str] = [""] * len(texts)
        use_attention = self.attention != "none"
        for _, chunk, src, max_len in self._batches(texts, batch_size):
            if beam_width > 1:
                decoded = beam_search(
                    self.encoder,
                    self.decoder_step,
                    src,
                    max_length=max_len,
                    beam_width=beam_width,
                    length_penalty=length_penalty,
                    attention=use_attention,
                )
            else:
                decoded = greedy_decode(
                    self.encoder, self.decoder_step, src, max_length=max_len, attention=use_attention
                )
            for i, seq in zip(chunk, decoded):
                out[i] = self.target_tokenizer.decode(seq)
        if mbr_samples:
            out = self.mbr_rerank(texts, out, mbr_samples, batch_size=batch_size, epsilon=epsilon, seed=seed)
        return out[0] if single else out

    def mbr_rerank(
        self,
        sentences: Sequence[str],
        translations: Sequence[str],
        mbr_samples: int,
        batch_size: int = 64,
        epsilon: float = 0.02,
        seed: int | None = 0,
    ) -> list[str]:
        """Minimum-Bayes-risk choice between given translations and sampled ones.

        For each sentence, draws ``mbr_samples`` translations
        (:func:`sample_decode`) and returns the one of them or of its given
        translation (e.g. the beam output, which wins ties) that
        :func:`mbr_select` picks against the samples. ``translate(...,
        mbr_samples=N)`` is ``mbr_rerank`` of its own output; call this
        directly to reuse translations already made.
        """
        _check_mbr_samples(mbr_samples)
        texts, given = list(sentences), [str(t) for t in translations]
        if len(texts) != len(given):
            raise ValueError(
                f"Expected one translation per sentence, received {len(given)} for {len(texts)} sentences."
            )
        out = list(given)
        if not mbr_samples:
            return out
        for start, chunk, src, max_len in self._batches(texts, batch_size):
            drawn = sample_decode(
                self.encoder,
                self.decoder_step,
                src,
                max_length=max_len,
                num_samples=int(mbr_samples),
                epsilon=epsilon,
                seed=None if seed is None else seed + start,
                attention=self.attention != "none",
            )
            for i, samples in zip(chunk, drawn):
                pseudo = [self.target_tokenizer.decode(seq) for seq in samples]
                out[i] = mbr_select([given[i], *pseudo], pseudo)
        return out

    @classmethod
    def ensemble(
        cls, translators: Sequence[Translator], length_penalty: float | None = None
    ) -> Translator:
        """A translator that decodes with several trained translators at once (:func:`ensemble_models`).

        The members must have the same tokenizers (the same training split
        and vocabulary settings; different seeds) and attention kind. The
        ensemble averages their next-token probabilities; greedy, beam,
        sampling and minimum-Bayes-risk decoding work as for one model, at
        about the members' summed cost, and :meth:`save` writes it like one.

        Args:
            translators: the members.
            length_penalty: beam search's default penalty (default: the first
                member's; choose it anew with :func:`choose_length_penalty`).

        Raises:
            ValueError: for no members or members that do not fit together.
        """
        members = list(translators)
        if not members:
            raise ValueError("An ensemble needs at least one translator, received none.")
        first = members[0]
        for i, other in enumerate(members[1:], start=1):
            for name in ("source_tokenizer", "target_tokenizer"):
                if getattr(other, name).get_config() != getattr(first, name).get_config():
                    raise ValueError(
                        f"Ensemble member {i} has a different {name.replace('_', ' ')} from member 0; members must be trained on the same split with the same tokenizers."
                    )
            if other.attention != first.attention:
                raise ValueError(
                    f"Ensemble member {i} uses attention {other.attention!r}, member 0 {first.attention!r}; members must share the attention kind."
                )
        encoder, decoder_step = ensemble_models(
            [m.encoder for m in members], [m.decoder_step for m in members], first.attention
        )
        return cls(
            encoder,
            decoder_step,
            first.source_tokenizer,
            first.target_tokenizer,
            attention=first.attention,
            max_length_ratio=first.max_length_ratio,
            max_length_offset=first.max_length_offset,
            length_penalty=first.length_penalty if length_penalty is None else length_penalty,
        )

    def _batches(self, texts: Sequence[str], batch_size: int):
        """``(start, indices, padded source ids, max target length)`` for batches of similar length."""
        ids = [self.source_tokenizer.encode(t) or [UNK] for t in texts]
        order = np.argsort([len(s) for s in ids], kind="stable")
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            src = _pad([ids[i] for i in chunk])
            yield start, chunk, src, int(self.max_length_ratio * src.shape[1] + self.max_length_offset)

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``encoder.keras``, ``decoder_step.keras`` and ``translator.json`` into ``folder``."""
        folder = Path(folder)
        _io.save_keras_model(self.encoder, folder / "encoder.keras")
        _io.save_keras_model(self.decoder_step, folder / "decoder_step.keras")
        _io.write_json(
            folder / "translator.json",
            {
                "attention": self.attention,
                "max_length_ratio": self.max_length_ratio,
                "max_length_offset": self.max_length_offset,
                "length_penalty": self.length_penalty,
                "source_tokenizer": self.source_tokenizer.get_config(),
                "target_tokenizer": self.target_tokenizer.get_config(),
            },
        )
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Translator:
        """Load a translator written by :meth:`save`."""
        folder = Path(folder)
        missing = [
            n
            for n in ("encoder.keras", "decoder_step.keras", "translator.json")
            if not (folder / n).is_file()
        ]
        if missing:
            raise ValueError(f"{str(folder)!r} is not a saved translator: missing {missing}.")
        with open(folder / "translator.json", encoding="utf-8") as fh:
            meta = json.load(fh)
        encoder = keras.models.load_model(folder / "encoder.keras", compile=False)
        decoder_step = keras.models.load_model(folder / "decoder_step.keras", compile=False)
        return cls(
            encoder,
            decoder_step,
            tokenizer_from_config(meta["source_tokenizer"]),
            tokenizer_from_config(meta["target_tokenizer"]),
            attention=meta["attention"],
            max_length_ratio=meta["max_length_ratio"],
            max_length_offset=meta["max_length_offset"],
            length_penalty=meta.get("length_penalty", 0.6),  # saved before it was a setting: the old default
        )


def _check_mbr_samples(value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"mbr_samples must be an integer >= 0, received {value!r}.")


def _check_length_penalty(value) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not np.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"length_penalty must be a finite number >= 0, received {value!r}.")
    return float(value)


DEFAULT_LENGTH_PENALTIES = (0.6, 1.0, 1.5, 2.0)


def choose_length_penalty(
    translator: Translator,
    sources: Sequence[str],
    references: Sequence[str],
    *,
    beam_width: int,
    candidates: Sequence[float] = DEFAULT_LENGTH_PENALTIES,
) -> tuple[float, dict[float, float]]:
    """Pick the beam-search length penalty with the best chrF on held-out pairs.

    Beam search ranks finished translations by log-probability, which favours
    short ones; the GNMT penalty ``((5 + length) / 6) ** alpha`` (Wu et al.
    2016) offsets that, and the best ``alpha`` depends on the model and the
    data. Translate ``sources`` with each candidate and keep the one whose
    corpus chrF against ``references`` is highest (the smallest on a tie).
    Use pairs that are not the ones the translator is finally scored on
    (the recipe uses its early-stopping dev split).

    Returns:
        ``(best_penalty, {penalty: chrF})``.
    """
    from lstm_apps.metrics import corpus_chrf

    grid = sorted({_check_length_penalty(c) for c in candidates})
    if not grid:
        raise ValueError("candidates must hold at least one length penalty.")
    scores = {
        lp: corpus_chrf(translator.translate(sources, beam_width=beam_width, length_penalty=lp), references)[
            0
        ]
        for lp in grid
    }
    best = max(grid, key=lambda lp: (scores[lp], -lp))
    return best, scores
