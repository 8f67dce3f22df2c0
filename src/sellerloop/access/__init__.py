"""Who may see and decide what: record access (`service.py`), decided by Cedar policies shipped as files a team can
override (`permissions.py`, `cedar/`), and sensitive fields masked where rows become objects (`fields.py`).

A low station beside records: everything that reads a record for a person comes through here, and nothing here
knows about agents, approvals or the web."""
