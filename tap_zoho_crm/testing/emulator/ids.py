"""19-digit Zoho-style ids that encode where a thing lives, so lookups by id need no index.

An id is ``ORG_PREFIX * 10**12 + slot * 10**10 + index``: ``slot`` names a module (or a kind of
metadata object) and ``index`` the position inside it. Every id therefore has 19 digits and fits
in a signed 64-bit integer, like a real org's ids.
"""

from __future__ import annotations

ORG_PREFIX = 4876876
BASE = ORG_PREFIX * 10**12
SLOT_SIZE = 10**10

# Slots 1..79 are record modules (assigned in catalog order); the rest hold other objects.
SLOT_FIELDS = 80
SLOT_MODULES = 81
SLOT_USERS = 82
SLOT_ROLES = 83
SLOT_PROFILES = 84
SLOT_LAYOUTS = 85
SLOT_ATTACHMENTS = 86
SLOT_MEMBERS = 87
SLOT_CONTACT_ROLES = 88
SLOT_RELATED_LISTS = 89
SLOT_PICKLISTS = 90
SLOT_TAGS = 91
SLOT_FILES = 92
SLOT_MISC = 93
SLOT_BULK = 94
MAX_MODULE_SLOT = 79


def make_id(slot: int, index: int) -> str:
    return str(BASE + slot * SLOT_SIZE + index)


def split_id(value: str) -> tuple[int, int] | None:
    """The (slot, index) an id was made from, or None for anything that is not one of ours."""
    if not value.isdigit() or len(value) != 19:
        return None
    rest = int(value) - BASE
    if rest < 0:
        return None
    return divmod(rest, SLOT_SIZE)
