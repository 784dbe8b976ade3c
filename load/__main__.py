"""`python -m load` (`make load`): see load/run.py."""

import sys

from load.run import main

sys.exit(main())
