"""treadcoach.history"""
