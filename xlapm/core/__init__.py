"""The core of xlapm: reading, cleaning and classifying accounts, with no Excel."""
