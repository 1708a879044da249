"""`python -m facefx ...` runs the same command line as the `facefx` script."""
import sys

from .cli import main

sys.exit(main())
