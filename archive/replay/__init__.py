"""Replaying archived pages: the CDXJ index, capture lookup and WACZ packages.

Reads what :mod:`archive.storage` wrote; never writes records or the catalog.
"""
