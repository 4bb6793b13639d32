"""Other departments (role ``department``): sanctions checks of one code, a batch or a
person, feedback on measures, and webhook subscriptions.
"""
