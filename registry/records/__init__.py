"""Penalty records (行政处罚信息): the record schema every door shares, the one write path
(staging, set-based upsert), disclosure on a day, revocation, search spellings, the
bulk export and synthetic demo files.
"""
