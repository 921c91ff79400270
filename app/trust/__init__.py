"""Trust levels: what a member has earned (age, completed transactions, reputation) and the
privileges each level opens (levels.py); the page that shows it (views.py)."""
