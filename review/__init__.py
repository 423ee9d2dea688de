"""Moderation: guards, similarity, policy, the moderated-edit flow, the review queue and the CLI."""
