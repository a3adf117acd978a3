import sys

from hems.cli import main

sys.exit(main())
