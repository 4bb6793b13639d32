"""What comes in from outside: objections to records (异议申诉), complaints (举报投诉),
departments' feedback on measures, and the receipts that let filers follow them.
"""
