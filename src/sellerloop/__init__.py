"""sellerloop: AI sales agents attached to a CRM, with a source for every fact."""

__version__ = "0.1.0"
