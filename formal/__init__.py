"""Formal proofs (Yosys SAT) and mutation testing of the generated designs against golden/."""
