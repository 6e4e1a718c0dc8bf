"""Benchmark: decoding methods of one trained translator, side by side.

Loads a finished run of ``recipes/translation.py`` trained with ``--data``,
rebuilds its validation split from the run's ``config.json`` (same file,
seed and fraction) and translates it with greedy search, beam search at each
length penalty, and minimum-Bayes-risk decoding with several sample counts.
The model is the same in every row, so the differences are the decoding's
alone. Scores are sacrebleu corpus chrF and BLEU; ``length_ratio`` is the
characters of the output over those of the references (chrF weighs recall
twice as much as precision, so short outputs cost it). Decode times are
quoted as ratios to greedy decoding, measured in this one run.

Usage:

    python benchmarks/translation_decoding.py --run runs/benchmarks/translation/<timestamp> \\
        [--penalties 0.6 1 1.5 2] [--mbr-samples 8 16 32] [--out FILE]

Writes ``benchmarks/results/translation_decoding.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent


def validation_split(config: dict) -> tuple[list[str], list[str]]:
    """The validation pairs of a run trained with ``--data`` (as the recipe split them)."""
    from lstm_apps.datasets.translation import load_pairs, split_pairs

    if not config.get("data"):
        raise ValueError(
            "the decoding benchmark needs a run trained with --data FILE; "
            f"this run used --dataset {config.get('dataset')!r}."
        )
    sources, targets = load_pairs(config["data"], max_pairs=config.get("max_pairs"))
    if config.get("quick"):
        sources, targets = sources[:2000], targets[:2000]
    _, (val_src, val_tgt) = split_pairs(sources, targets, config["val_fraction"], seed=config["seed"])
    return val_src, val_tgt


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--run",
        required=True,
        help="a finished translation run folder (holds translator.json and config.json)",
    )
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument(
        "--penalties",
        type=float,
        nargs="+",
        default=[0.6, 1.0, 1.5, 2.0],
        help="beam-search length penalties to score",
    )
    parser.add_argument(
        "--mbr-samples", type=int, nargs="+", default=[8, 16, 32], help="sample counts of MBR decoding"
    )
    parser.add_argument("--max-pairs", type=int, default=None, help="score only the first N validation pairs")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "translation_decoding.json"))
    args = parser.parse_args(argv)

    from lstm_apps import io as lio
    from lstm_apps.metrics import corpus_bleu, corpus_chrf
    from lstm_apps.seq2seq import Translator

    run = Path(args.run)
    config_file = run / "config.json"
    if not config_file.is_file():
        raise ValueError(
            f"{str(run)!r} holds no config.json: pass a folder written by recipes/translation.py."
        )
    config = json.loads(config_file.read_text(encoding="utf-8"))
    translator = Translator.load(run)
    val_src, val_tgt = validation_split(config)
    if args.max_pairs:
        val_src, val_tgt = val_src[: args.max_pairs], val_tgt[: args.max_pairs]
    ref_chars = sum(len(t) for t in val_tgt)

    def measure(name: str, **kwargs) -> dict:
        t0 = time.time()
        hyps = translator.translate(val_src, **kwargs)
        seconds = time.time() - t0
        row = {
            "decoding": name,
            **kwargs,
            "val_chrf": corpus_chrf(hyps, val_tgt)[0],
            "val_bleu": corpus_bleu(hyps, val_tgt)[0],
            "length_ratio": sum(len(h) for h in hyps) / ref_chars,
            "decode_seconds": round(seconds, 2),
        }
        print(
            f"{name:<6} {kwargs}: chrF {row['val_chrf']:.2f}  BLEU {row['val_bleu']:.2f}  "
            f"length {row['length_ratio']:.3f}  {seconds:.1f} s",
            flush=True,
        )
        return row

    rows = [measure("greedy", beam_width=1)]
    rows += [measure("beam", beam_width=args.beam_width, length_penalty=p) for p in args.penalties]
    rows += [
        measure("mbr", beam_width=args.beam_width, mbr_samples=n, seed=config["seed"])
        for n in args.mbr_samples
    ]
    greedy = rows[0]
    for row in rows:
        row["decode_time_vs_greedy"] = round(row["decode_seconds"] / max(greedy["decode_seconds"], 1e-9), 2)
        row["chrf_minus_greedy"] = row["val_chrf"] - greedy["val_chrf"]
    result = {
        "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()}",
        "run": str(run),
        "saved_length_penalty": translator.length_penalty,
        "val_pairs": len(val_src),
        "results": rows,
    }
    lio.write_json(args.out, result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
