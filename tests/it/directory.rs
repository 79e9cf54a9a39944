//! The trust directory: verification through it, offline from the cache, stale warnings, key windows.
