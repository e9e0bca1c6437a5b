"""``python -m crawler.archiver PARENT_PID``: the archiver process (see :mod:`crawler.archiver`)."""

import signal
import sys

# Before the imports, which take a good part of a second: Ctrl-C in a
# terminal (or a stop signal to the whole process group) is for the crawl
# process, which shuts down cleanly and then sends Close; this process ends
# by that, by the end of its input, or with its parent.
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)

# The worker runs from its own module, not from __main__, so the classes it
# pickles back to the crawl process have their real, importable names.
from crawler.archiver.worker import main  # noqa: E402  (after the signals, see above)

sys.exit(main())
