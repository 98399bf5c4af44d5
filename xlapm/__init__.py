"""xlapm: the Account Prioritization Matrix for Excel.

The core (``xlapm.core``) classifies accounts into quadrants; ``xlapm.layout`` plans
the sheets xlapm owns; ``xlapm.writers`` renders that plan to a file or a live
workbook; ``xlapm.cli``, ``xlapm.udfs`` and ``xlapm.macros`` are the thin edges.
"""

import logging

__version__ = "0.1.0"

# The library prints nothing: debug detail goes through logging, silent by default.
logging.getLogger(__name__).addHandler(logging.NullHandler())
