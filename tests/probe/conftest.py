"""Probe tests: the probe against simulated treadmills (each quirk profile, and pairs of them)
through the simulator's bleak backend, on virtual time, plus the pure analysis on hand-made
records. Helpers are in ``probe_helpers`` (this folder is on the path thanks to this file)."""
