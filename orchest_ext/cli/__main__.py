"""``python -m orchest_ext.cli``: the same as `jupyter orchest`."""

from .app import main

main()
