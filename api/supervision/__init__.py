"""Supervision: double-random inspection tasks, case transfers, quality commitments."""
