"""A stand-in agent entrypoint."""
