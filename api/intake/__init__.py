"""Objections and complaints: the public filing endpoints and forms, and the
authorities' side of them.
"""
