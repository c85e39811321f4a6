import sys

from audience_pipelines.cli import main

sys.exit(main())
