"""Text in, text out: :class:`Translator` (tokenizers, encoder and one-step decoder; save and load)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from lstm_apps import io as _io
from lstm_apps.seq2seq.batches import _pad
from lstm_apps.seq2seq.decoding import (
    _check_length_penalty,
    _check_mbr_samples,
    beam_search,
    greedy_decode,
    mbr_select,
    sample_decode,
)
from lstm_apps.seq2seq.model import ATTENTION_KINDS, ensemble_models
from lstm_apps.seq2seq.tokenizers import UNK, tokenizer_from_config

__all__ = ["Translator"]


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
    def ensemble(cls, translators: Sequence[Translator], length_penalty: float | None = None) -> Translator:
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
                        f"Ensemble member {i} has a different {name.replace('_', ' ')} from member 0; "
                        "members must be trained on the same split with the same tokenizers."
                    )
            if other.attention != first.attention:
                raise ValueError(
                    f"Ensemble member {i} uses attention {other.attention!r}, "
                    f"member 0 {first.attention!r}; members must share the attention kind."
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
