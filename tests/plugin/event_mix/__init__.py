"""A new analysis in one package plus one registry entry (the example of docs/architecture.md):
how many users did each event, and what share of all users that is."""
