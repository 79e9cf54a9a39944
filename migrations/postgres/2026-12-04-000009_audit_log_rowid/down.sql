-- SQLite only (its audit log's seq becomes the rowid); PostgreSQL keeps the same version numbers.
SELECT 1;
