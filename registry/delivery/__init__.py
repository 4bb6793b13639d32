"""What leaves on its own schedule: signed webhook deliveries and the scheduler engine
(job locks, ticks, runs) the top level wires its jobs into.
"""
