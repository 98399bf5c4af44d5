"""``python -m xlapm`` runs the command line."""

from xlapm.cli import main

main()
