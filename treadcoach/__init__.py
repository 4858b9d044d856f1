"""treadcoach: a backward-walking and retro-running interval coach for FTMS treadmills."""

__version__ = "0.1.0"
