"""What every capability stands on: configuration, the clock, the storage seam
(engines, sessions, locks), the audit chain, the change feed's order, codes (USCC and
resident ID numbers), domain errors, API tokens and the base of the data model.
"""
