"""Extraction layer: pure functions from one saved VSB page to a normalized record.

No network, no Scrapy: `parse_article(html, url)` for article pages, `parse_listing(html, url)`
for column pages, `find_column_links` and `check_listing` to find a column by its name
on a home page, `classify_response` to tell non-articles apart, `merge_listing` to attach
what a listing said, `parse_view_count` for the dynclicks.jsp counter,
`page_requisites` / `css_requisites` for what a page needs to be replayed,
`canonical_article_url` for the one URL an article is recorded under.
"""

from crawler.extract.article import NotAnArticle, classify_response, parse_article
from crawler.extract.listing import ListingItem, ListingPage, merge_listing, parse_listing
from crawler.extract.navigation import ColumnLink, ListingCheck, check_listing, find_column_links
from crawler.extract.requisites import Requisite, css_requisites, page_requisites
from crawler.extract.urls import canonical_article_url, is_dynamic_url
from crawler.extract.views import parse_view_count, view_count_url

__all__ = [
    "ColumnLink",
    "ListingCheck",
    "ListingItem",
    "ListingPage",
    "NotAnArticle",
    "Requisite",
    "canonical_article_url",
    "check_listing",
    "classify_response",
    "css_requisites",
    "find_column_links",
    "is_dynamic_url",
    "merge_listing",
    "page_requisites",
    "parse_article",
    "parse_listing",
    "parse_view_count",
    "view_count_url",
]
