"""The simulated FTMS treadmill (see sim/README or docs/architecture.md)."""
