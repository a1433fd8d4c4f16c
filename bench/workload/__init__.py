"""Requests: seeded synthetic prompts (token ids or text) with exact output lengths."""
