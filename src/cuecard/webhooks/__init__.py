"""Agent webhooks: subscriptions, the outbox of events, and their delivery."""
