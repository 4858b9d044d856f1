"""treadcoach.inputs"""
