"""`python -m patchpush`: the same command line as `patchpush`, for when scripts are not on PATH."""

import sys

from patchpush.cli import main

sys.exit(main())
