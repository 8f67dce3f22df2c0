"""Shadow mode: a use case runs one level above its own, places nothing, and what it would have done is compared
with what people did, as evidence for promotion (DESIGN.md §4)."""
