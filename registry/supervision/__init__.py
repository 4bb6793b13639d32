"""Supervision tools from the policy: double-random inspections (双随机、一公开), alerts
and case transfers to the police (以罚代刑 risk), quality commitments (质量承诺).
"""
