"""Monitors: production traces scored over windows (the online half of the flywheel)."""
