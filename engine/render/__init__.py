"""Renderers: one Plan structure, three views (text, markdown, JSON)."""
