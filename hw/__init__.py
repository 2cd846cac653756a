"""Amaranth generators for qmac's MAC units and systolic arrays, parameterised by golden/ configs."""
