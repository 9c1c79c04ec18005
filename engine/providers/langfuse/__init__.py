"""Langfuse provider: datasets, dataset runs, traces and scores in a Langfuse project."""
