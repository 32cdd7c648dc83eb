"""Benchmarks of doctor-migration against a hand-written SQL floor (not tests)."""
