"""The public, no token: the JSON lookup API (entity, search, lists, change feed), the
server-rendered pages, credit grades as published, and the lookup's short path.
"""
