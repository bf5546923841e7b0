import sys

from serrules.cli import main

sys.exit(main())
