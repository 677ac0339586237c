"""Fault runs (`make chaos`): a wave of support follow-ups under worker kills and restarts."""
