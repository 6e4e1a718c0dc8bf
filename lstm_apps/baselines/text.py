"""Text classification baseline: TF-IDF word 1–2-grams + logistic regression.

The strongest simple model for short-text sentiment (Wang & Manning 2012 put
word-bigram linear models ahead of many neural models on sentence polarity).
It sees which words and adjacent word pairs occur, not their order beyond a
pair, which is exactly what :func:`lstm_apps.datasets.sentiment.ngram_ceiling`
bounds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["TfidfLogisticRegression"]


class TfidfLogisticRegression:
    """TF-IDF (word n-grams) + L2 logistic regression, on raw strings.

    Args:
        ngram_range: word n-gram orders (default ``(1, 2)``).
        C: inverse regularisation strength of the logistic regression.
        min_df: ignore n-grams seen in fewer documents.
        sublinear_tf: use ``1 + log(tf)``.
        max_iter: solver iterations.

    Example:

    >>> clf = TfidfLogisticRegression().fit(["good film", "bad film"] * 5, [1, 0] * 5)
    >>> clf.predict(["a good one"]).tolist()
    [1]
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 2),
        C: float = 10.0,
        min_df: int = 1,
        sublinear_tf: bool = True,
        max_iter: int = 2000,
    ):
        if len(tuple(ngram_range)) != 2 or ngram_range[0] < 1 or ngram_range[1] < ngram_range[0]:
            raise ValueError(
                f"ngram_range must be (min_n, max_n) with 1 <= min_n <= max_n, received {ngram_range!r}."
            )
        if C <= 0:
            raise ValueError(f"C must be positive, received C={C!r}.")
        self.ngram_range = tuple(ngram_range)
        self.C = float(C)
        self.min_df = min_df
        self.sublinear_tf = bool(sublinear_tf)
        self.max_iter = int(max_iter)
        self.pipeline = None

    def _build(self):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        return make_pipeline(
            TfidfVectorizer(ngram_range=self.ngram_range, min_df=self.min_df, sublinear_tf=self.sublinear_tf),
            LogisticRegression(C=self.C, max_iter=self.max_iter),
        )

    def fit(self, texts: Sequence[str], labels) -> TfidfLogisticRegression:
        """Fit on raw texts and integer labels."""
        labels = np.asarray(labels)
        if len(texts) != len(labels):
            raise ValueError(f"texts and labels differ in length: received {len(texts)} and {len(labels)}.")
        if len(np.unique(labels)) < 2:
            raise ValueError(
                f"need at least two classes to fit, received labels {np.unique(labels).tolist()}."
            )
        self.pipeline = self._build().fit(list(texts), labels)
        return self

    def _check_fitted(self):
        if self.pipeline is None:
            raise ValueError("TfidfLogisticRegression is not fitted; call fit(texts, labels) first.")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of class 1 for each text."""
        self._check_fitted()
        return self.pipeline.predict_proba(list(texts))[:, 1]

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        return self.pipeline.predict(list(texts))

    def score(self, texts: Sequence[str], labels) -> float:
        """Accuracy on ``texts``."""
        return float(np.mean(self.predict(texts) == np.asarray(labels)))
