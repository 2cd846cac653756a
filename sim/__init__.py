"""cocotb testbenches and runners that check the generated RTL against golden/."""
