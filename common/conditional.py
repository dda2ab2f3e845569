"""Version ETags and `If-Match` for optimistic concurrency on editable resources."""

from __future__ import annotations

import re

_TAG = re.compile(r'^"v([0-9]{1,10})"$')


def version_etag(version: int) -> str:
    return f'"v{version}"'


def if_match_versions(header: str | None) -> frozenset[int] | None:
    """The versions an `If-Match` accepts; None when it accepts any (absent or `*`).

    Strong comparison (RFC 9110): a weak tag (W/"v3") or anything else that is not one of our
    tags matches no version, so the write is refused with 412.
    """
    if header is None or header.strip() == "*":
        return None
    versions = set()
    for tag in header.split(","):
        match = _TAG.match(tag.strip())
        if match:
            versions.add(int(match.group(1)))
    return frozenset(versions)
