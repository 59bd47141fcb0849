"""Durable state in SQLite: runs, steps, jobs and the step cache, on one worker thread."""

from .database import SCHEMA, CacheEntries, Store

__all__ = ["SCHEMA", "CacheEntries", "Store"]
