"""Durable state in SQLite: runs, steps, jobs and the step cache, on one worker thread, with
a versioned schema (``migrations``)."""

from .database import CacheEntries, Store
from .migrations import MIGRATIONS, SCHEMA, SchemaTooNew
from .run_rows import CacheEntry

__all__ = ["MIGRATIONS", "SCHEMA", "CacheEntries", "CacheEntry", "SchemaTooNew", "Store"]
