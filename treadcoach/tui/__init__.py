"""treadcoach.tui"""
