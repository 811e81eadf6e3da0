"""Independent reference implementation (oracle) of the indicator computations, and its tests."""
