"""The article record: the one definition every layer shares.

What a record holds (:class:`ArticleRecord`, and :class:`ParsedArticle`, the
part an article page alone tells), its schema version, the review and credit
roles, and its JSON Schema (``record.schema.json``, the on-disk contract).
The extractor produces records, storage keeps them, research reads them; none
of those may import another, so the definition lives here and imports nothing
of ours.
"""

from record.model import (
    CREDIT_ROLES,
    REVIEW_ROLES,
    ROLE_LABELS,
    SCHEMA_FILES,
    SCHEMA_VERSION,
    ArticleRecord,
    Attachment,
    Credits,
    Image,
    ListingEntry,
    ParsedArticle,
    Reviewers,
    RoleLabels,
    UnknownRecordVersion,
    WarcLocation,
    json_schema,
    site_of,
    upgrade,
)

__all__ = [
    "CREDIT_ROLES",
    "REVIEW_ROLES",
    "ROLE_LABELS",
    "SCHEMA_FILES",
    "SCHEMA_VERSION",
    "ArticleRecord",
    "Attachment",
    "Credits",
    "Image",
    "ListingEntry",
    "ParsedArticle",
    "Reviewers",
    "RoleLabels",
    "UnknownRecordVersion",
    "WarcLocation",
    "json_schema",
    "site_of",
    "upgrade",
]
