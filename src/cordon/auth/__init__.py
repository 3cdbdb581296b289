"""People's accounts, roles and permissions (DESIGN.md §1). Camera keys live apart, in `cordon.ingest.keys`."""
