"""People's accounts, sessions, permissions."""
