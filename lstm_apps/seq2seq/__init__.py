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

Modules (every public name is re-exported here):

* :mod:`~lstm_apps.seq2seq.tokenizers`: :class:`SubwordTokenizer`
  (byte-pair encoding, Sennrich, Haddow & Birch 2016, learned from the
  training text), :class:`CharTokenizer`, :func:`tokenizer_from_config` and
  the special ids ``PAD UNK BOS EOS``;
* :mod:`~lstm_apps.seq2seq.layers`: the Keras layers the models are made of
  (:class:`LexicalModel`, :class:`TiedEmbedding`, :class:`EnsembleLogProbs`...);
* :mod:`~lstm_apps.seq2seq.model`: :func:`build_seq2seq`, the training model
  plus the separate ``encoder`` and one-step ``decoder_step`` models that
  share its weights (each can be saved as a ``.keras`` file and exported on
  its own), optionally with the word dropout of Sennrich & Zhang (2019);
  :func:`attention_weights`; :func:`ensemble_models`;
* :mod:`~lstm_apps.seq2seq.decoding`: :func:`greedy_decode`,
  :func:`beam_search`, and :func:`sample_decode` with :func:`mbr_select` for
  minimum-Bayes-risk decoding; :func:`choose_length_penalty` tunes beam
  search's length penalty on held-out pairs;
* :mod:`~lstm_apps.seq2seq.batches`: :class:`PairBatches`, length-bucketed,
  padded training batches;
* :mod:`~lstm_apps.seq2seq.translator`: :class:`Translator`, tokenizers +
  encoder + decoder step, ``translate``, ``save`` and ``load``.

The training loss :class:`~lstm_apps.losses.SmoothedSparseCategoricalCrossentropy`
(label smoothing, which Keras's sparse cross-entropy lacks) lives in
:mod:`lstm_apps.losses` and :func:`~lstm_apps.metrics.sentence_chrf_matrix`
in :mod:`lstm_apps.metrics`; both are re-exported here too.

Example:

```python
from lstm_apps.seq2seq import SubwordTokenizer, build_seq2seq, PairBatches, Translator
src_tok = SubwordTokenizer.train(sources, vocab_size=500)
tgt_tok = SubwordTokenizer.train(targets, vocab_size=500)
parts = build_seq2seq(src_tok.vocab_size, tgt_tok.vocab_size, cell="lstm", units=128)
parts.model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
batches = PairBatches(src_tok.encode_batch(sources), tgt_tok.encode_batch(targets))
parts.model.fit(batches.dataset(), epochs=5)
translator = Translator(parts.encoder, parts.decoder_step, src_tok, tgt_tok, attention="luong")
translator.translate(["three hundred twenty-one"], beam_width=4)
```
"""

from lstm_apps.losses import SmoothedSparseCategoricalCrossentropy
from lstm_apps.metrics import sentence_chrf_matrix
from lstm_apps.seq2seq.batches import PairBatches
from lstm_apps.seq2seq.decoding import (
    DEFAULT_LENGTH_PENALTIES,
    beam_search,
    choose_length_penalty,
    greedy_decode,
    mbr_select,
    sample_decode,
)
from lstm_apps.seq2seq.layers import (
    EnsembleLogProbs,
    FeatureSlice,
    LastStep,
    LexicalModel,
    PaddingMask,
    TiedEmbedding,
)
from lstm_apps.seq2seq.model import (
    ATTENTION_KINDS,
    Seq2SeqParts,
    attention_weights,
    build_seq2seq,
    ensemble_models,
)
from lstm_apps.seq2seq.tokenizers import (
    BOS,
    EOS,
    PAD,
    UNK,
    CharTokenizer,
    SubwordTokenizer,
    tokenizer_from_config,
)
from lstm_apps.seq2seq.translator import Translator

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
