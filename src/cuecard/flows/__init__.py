"""Conversation flows: an agent's `conversation_mode` and node graph (Talkover's `/flow` API)."""
