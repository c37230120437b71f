"""The audit log: every config write, with the token that made it."""
