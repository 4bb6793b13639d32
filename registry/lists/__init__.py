"""List entries (失信名单, 守信激励名单): terms, when an entry binds, confirmation and removal,
credit repair, and red lists named by authorities.
"""
