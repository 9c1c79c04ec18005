"""Planner: (desired graph, state, observations) -> Plan. Pure; renders elsewhere."""
