"""treadcoach.safety"""
