"""Notifications: the first consumer of recorded events. In the app (a bell, a list) and by
email, each person choosing per kind: in the app only, also by email, or in a daily digest."""
