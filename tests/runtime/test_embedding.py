"""The packaged model: found without a download, checked by SHA-256, English only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

import cuecard
from cuecard.runtime.embedding import (
    DIMENSIONS,
    Encoder,
    ModelUnavailable,
    _package_file,
    encoder_for,
)


class TestPackagedFiles:
    def test_a_file_is_used_only_with_the_recorded_sha256(self) -> None:
        real = Path(cuecard.__file__).parent / "py.typed"
        digest = hashlib.sha256(real.read_bytes()).hexdigest()
        assert _package_file("cuecard", "py.typed", digest) == real
        with pytest.raises(ModelUnavailable, match="expected"):
            _package_file("cuecard", "py.typed", "0" * 64)
        with pytest.raises(ModelUnavailable, match="missing"):
            _package_file("cuecard", "no-such-file.onnx", digest)
        with pytest.raises(ModelUnavailable, match="not installed"):
            _package_file("no_such_package_for_cuecard", "model.onnx", digest)


class TestEncoder:
    def test_english_agents_get_unit_vectors_and_others_none(self) -> None:
        encoder = encoder_for("en-GB")
        assert encoder is not None and encoder is encoder_for("en-US")
        vector = encoder.encode("I want my money back")
        assert vector.shape == (DIMENSIONS,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
        assert encoder_for("de-DE") is None and encoder_for("ja-JP") is None

    def test_a_text_gets_the_same_vector_alone_or_among_others(self) -> None:
        encoder = encoder_for("en-US")
        assert encoder is not None
        alone = encoder._run("refunds within 30 days")
        batch = encoder.encode_all(
            ["a much longer text about deliveries", "refunds within 30 days"]
        )
        assert np.array_equal(batch[1], alone)
        paraphrase = encoder.encode("I want my money back")
        assert float(paraphrase @ alone) > float(paraphrase @ encoder.encode("store hours"))

    def test_every_load_of_the_model_gives_the_same_vectors(self) -> None:
        # Vectors stored by one process are used by every other (runtime/vector_store.py): the
        # model re-quantized at load must come out the same each time.
        shared = encoder_for("en-US")
        assert shared is not None
        another = Encoder()
        assert another.model_id == shared.model_id
        for text in ("I want my money back", "Refunds go back to the card within 5 days."):
            assert np.array_equal(another._run(text), shared._run(text))
