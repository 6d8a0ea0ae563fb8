"""`argn`: an any-order autoregressive network over a table's columns (after TabularARGN,
Tiwald et al. 2025, and any-order autoregressive models; own code)."""
