import sys

from treadcoach.cli import main

sys.exit(main())
