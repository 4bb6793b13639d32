"""Regulators (role ``regulator``, bound to an authority): penalty records one by one or
as files, list entries to confirm, reject or remove, credit repair, red lists an authority
names, and the authority's alerts.
"""
