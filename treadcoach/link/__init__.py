"""treadcoach.link"""
