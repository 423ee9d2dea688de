"""The human review queue and the people who work it: the queue service, accounts and sessions, export."""
