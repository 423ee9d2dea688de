"""Moderation, one package per concern: pipeline (the spine), guard, similarity, provenance, queue, privacy, cli."""
