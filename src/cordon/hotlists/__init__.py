"""Reference data the rules read, kept in the store: hotlists (lists with owner and legal basis, and their
entries), access and truck-lock permits, and the vehicle registry extract; imported from CSV with a report of
rejected lines, changed through the API with an audit entry, and matched retroactively when a hotlist grows."""
