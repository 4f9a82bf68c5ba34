"""A plugin that calls sys.exit() while it is being imported."""

import sys

sys.exit("this plugin exits on import")
