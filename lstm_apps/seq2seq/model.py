"""The encoder–decoder model: :func:`build_seq2seq`, :func:`attention_weights`, :func:`ensemble_models`.

The architecture of Sutskever, Vinyals & Le (2014): a recurrent encoder
reads the source, its final states initialise a recurrent decoder trained
with teacher forcing, optionally attending over all encoder outputs
(Luong et al. 2015 or Bahdanau et al. 2015). Besides the training model,
:func:`build_seq2seq` returns the ``encoder`` and one-step ``decoder_step``
models that share its weights and that the decoders of
:mod:`lstm_apps.seq2seq.decoding` run; :func:`ensemble_models` joins several
such pairs into one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from lstm_apps.layers import recurrent
from lstm_apps.seq2seq.layers import (
    EnsembleLogProbs,
    FeatureSlice,
    LastStep,
    LexicalModel,
    PaddingMask,
    TiedEmbedding,
)
from lstm_apps.seq2seq.tokenizers import BOS, PAD

__all__ = ["ATTENTION_KINDS", "Seq2SeqParts", "build_seq2seq", "attention_weights", "ensemble_models"]

ATTENTION_KINDS = ("luong", "bahdanau", "none")


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
            "units must be even with bidirectional_encoder=True (units // 2 per direction), "
            f"received {units}."
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
            "attention_weights needs a model built with attention='luong' or 'bahdanau', "
            "received attention='none'."
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
            "Expected one decoder step per encoder and at least one of each, "
            f"received {len(encoders)} encoders and {len(decoder_steps)} decoder steps."
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
                f"Member {i} does not fit attention={attention!r}: "
                f"its encoder returns {len(encoder.outputs)} tensors "
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
