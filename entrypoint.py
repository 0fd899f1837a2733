#!/usr/bin/env python3
"""The container's entrypoint: run the action face."""

import sys

from patchpush.action import main

if __name__ == "__main__":
    sys.exit(main())
