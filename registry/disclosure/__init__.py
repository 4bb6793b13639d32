"""What the registry answers: the public profile, search, published lists and the public
change feed (信用公示), and the sanctions a department must apply (联合惩戒).
"""
