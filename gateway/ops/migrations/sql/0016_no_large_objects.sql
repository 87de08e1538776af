-- Large objects live outside row-level security and outside any table's size: a session of the
-- request login (SQL injected into a request) could store data no tenant owns, or fill the disk.
-- The gateway never uses them. Creating one needs these functions, which PostgreSQL grants to
-- PUBLIC; take them back in this database (lo_import from a file is a superuser's already).
-- Another application of this database that needs large objects must be granted them by name.
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_creat(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;
