"""What people's decisions say about the levels: moving a use case's level up one step on the evidence the policy
asks for (or down, or the kill switch), shadow mode on or off (`service.py`, `sellerloop autonomy ...` in
`commands.py`), and the playbook tuning report (`tuning.py`).

It reads the approvals, the audit log and shadow mode's comparisons, and writes only the policy file: it sits
above them all in the flow."""
