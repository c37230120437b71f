"""Every event a webhook can subscribe to: Talkover's 22 call events and Cuecard's config events."""

from __future__ import annotations

CALL_EVENTS: dict[str, str] = {
    "event_phone_call_started": "Phone call has started",
    "event_phone_call_ended": "Phone call has ended",
    "event_phone_call_did_not_connect": "Phone call failed to connect",
    "event_phone_call_connected": "Phone call connection established",
    "event_phone_call_disconnected": "Phone call connection closed",
    "event_phone_call_error": "Phone call connection error occurred",
    "event_participant_joined": "Participant joined the call",
    "event_participant_left": "Participant left the call",
    "event_voicemail_detected": "Voicemail system detected",
    "event_voicemail_message_left": "Message left on voicemail",
    "event_conversation_started": "Human conversation started",
    "event_conversation_ended": "Human conversation ended",
    "event_action": "Agent executed an action",
    "event_action_failed": "Agent action failed",
    "event_recording": "Call recording event",
    "event_connection_established": "Call connection established",
    "event_connection_closed": "Call connection closed",
    "event_connection_error": "Call connection error occurred",
    "event_user_connected": "User connected to the call",
    "event_user_disconnected": "User disconnected from the call",
    "event_client_connected": "Client connected to the call",
    "event_client_disconnected": "Client disconnected from the call",
}

CONFIG_EVENTS: dict[str, str] = {
    "event_agent_published": "Agent was published as a new version",
    "event_agent_unpublished": "Agent was unpublished",
    "event_training_updated": "Training was created or updated",
    "event_training_deleted": "Training was deleted",
    "event_action_updated": "Action was created, updated or deleted",
    "event_flow_updated": "Conversation flow was updated",
}

# What `available_events` lists, in this order.
AVAILABLE_EVENTS: dict[str, str] = {**CALL_EVENTS, **CONFIG_EVENTS}

# Sent by `open` and `close` of a call report; a runtime does not report them itself.
CALL_OPENED = "event_phone_call_started"
CALL_CLOSED = "event_phone_call_ended"

TEST_EVENT = "webhook.test"
