"""treadcoach.coach"""
