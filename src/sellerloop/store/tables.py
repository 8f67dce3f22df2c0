"""Every module that defines tables, imported so that `Base.metadata` knows them all (migrations, schema checks)."""
import sellerloop.agents.outputs
import sellerloop.approvals.models
import sellerloop.audit.models
import sellerloop.auth.models
import sellerloop.executor.models
import sellerloop.outcomes.models
import sellerloop.records.models
import sellerloop.scoring.models
import sellerloop.shadow.models  # noqa: F401  (each import is for its tables)
