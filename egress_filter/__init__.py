"""Enclave egress filter: every file that wants to leave the domain is read in full and judged.

Verdicts are ``pass``, ``review`` or ``block``. Anything the filter cannot read is blocked.
"""

__version__ = "0.1.0"
