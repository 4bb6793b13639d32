"""The operators' dashboard (``/dashboard``): login with a token, the figures of an
authority's work, its queues.
"""
