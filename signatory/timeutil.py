"""The UTC column type at the address migrations 0001 to 0005 import it from.

A migration is never edited once it may have run somewhere, and those name
``signatory.timeutil.UTCDateTime``; the code itself imports ``signatory.core.time``.
"""

from signatory.core.time import UTCDateTime

__all__ = ["UTCDateTime"]
