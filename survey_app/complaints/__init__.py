"""Complaint workflow: intake, state machine, SLA, assignment, timeline, recovery rating."""
