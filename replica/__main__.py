"""`python -m replica`: serve the replica until Ctrl-C."""

import sys

from replica.server import main

sys.exit(main())
