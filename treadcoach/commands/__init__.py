"""Subcommands of the ``treadcoach`` console script (see ``treadcoach.cli``)."""
