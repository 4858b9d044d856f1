"""treadcoach.mqtt"""
