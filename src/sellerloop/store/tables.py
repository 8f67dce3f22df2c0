"""Every module that defines tables, imported so that `Base.metadata` knows them all (migrations, schema checks)."""
import sellerloop.records.models  # noqa: F401  (imported for its tables)
import sellerloop.runs.models  # noqa: F401
