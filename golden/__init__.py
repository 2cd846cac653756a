"""Bit-exact NumPy reference of qmac's number formats, arithmetic and cycle behaviour.

golden/ is the specification: hw/ reads its parameters, sim/ and flow/ check against it. It
imports no simulator or HDL package.
"""
