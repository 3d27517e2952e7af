"""``python -m oaklake.cli``: the same as the ``oaklake`` command."""

from oaklake.cli import main

main()
