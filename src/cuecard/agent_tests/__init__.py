"""Agent tests: conversations with expectations about which trainings reach the model."""
