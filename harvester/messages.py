"""Messages of runs and errors, kept short: a source's error text is untrusted and unbounded
(an OAI error with 100 KB of text is real), and it is stored, logged and printed."""

from __future__ import annotations

MAX_MESSAGE_CHARS = 2000
"""The longest run message or error reason kept; the middle of a longer one is cut."""


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` at most ``limit`` characters: its start and end, with the cut said in between."""
    if len(text) <= limit:
        return text
    marker = f" [... {len(text) - limit} characters cut ...] "
    head = max(0, (limit - len(marker)) * 3 // 4)
    tail = max(0, limit - len(marker) - head)
    return text[:head] + marker + (text[-tail:] if tail else "")
