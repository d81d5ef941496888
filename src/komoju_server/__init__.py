"""komoju-server: a self-hostable, stateful implementation of the KOMOJU v1 payments API."""

__version__ = "0.1.0"
