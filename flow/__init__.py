"""Synthesis, timing, data-dependent power and the efficiency report."""
