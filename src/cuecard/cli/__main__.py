"""`python -m cuecard.cli` is `cuecard`."""

from cuecard.cli import main

main()
