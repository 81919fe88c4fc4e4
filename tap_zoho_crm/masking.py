"""Secret values out of every message that quotes config (the SDK's validation ones included).

The SDK's config validation quotes the offending value (``['...'] is not of type 'string'``),
so a secret of the wrong JSON type would be printed. Every text leaf of a secret setting,
whatever its type, is replaced by ``***`` before such a message goes anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

#: Settings whose values are secrets (with their aliases).
SECRET_SETTINGS = ("client_secret", "refresh_token", "client_value_tmp", "refresh_value_tmp")
MASK = "***"
#: Shorter leaves are not masked (they would blank out ordinary words); no real secret is.
MIN_SECRET_LENGTH = 4


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(key)
            yield from _leaves(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def secret_texts(config: Mapping[str, Any]) -> list[str]:
    """Every text a secret setting could show up as, longest first."""
    texts = {
        text
        for name in SECRET_SETTINGS
        for text in _leaves(config.get(name))
        if len(text) >= MIN_SECRET_LENGTH
    }
    return sorted(texts, key=len, reverse=True)


def mask_secrets(message: str, config: Mapping[str, Any]) -> str:
    """``message`` with every secret value of ``config`` replaced by ``***``."""
    for text in secret_texts(config):
        message = message.replace(text, MASK)
    return message
