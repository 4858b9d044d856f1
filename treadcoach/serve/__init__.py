"""``treadcoach serve``: the session on a tablet or phone (docs/tablet.md).

- :mod:`~treadcoach.serve.protocol`: the channel's JSON lines and who may ask for what (pure).
- :mod:`~treadcoach.serve.channel`: the Unix-socket channel attached to the running session.
- :mod:`~treadcoach.serve.client`: a view's end of it.
- :mod:`~treadcoach.serve.view`: the Textual app textual-serve starts once per browser.
- :mod:`~treadcoach.serve.web`: textual-serve's web server, in the session's loop.
- :mod:`~treadcoach.serve.speech`, :mod:`~treadcoach.serve.terminal`: cues and the printed URL.
- :mod:`~treadcoach.serve.bench`: the measurements (only ``treadcoach bench`` loads it).
"""
