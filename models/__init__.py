"""Real trained tensors for qmac: the all-MiniLM-L6-v2 sentence encoder in NumPy, run in FP32 or
with every linear layer as a bit-exact quantized GEMM through golden/ (see docs/accuracy.md)."""
