"""What `has:` filters on: a message's tags, derived from what it carries."""

from __future__ import annotations

import re

from projections.search.layout import FILE, LINK

_LINK = re.compile(r"(?:\bhttps?://|\bwww\.)\S", re.IGNORECASE)


def tags(text: str, *, has_attachments: bool) -> list[str]:
    found = [LINK] if _LINK.search(text) else []
    if has_attachments:
        found.append(FILE)
    return found
