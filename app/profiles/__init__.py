"""Public profiles: one page that shows a member as everyone sees them, composed from accounts,
listings and reputation (so none of those has to import the others)."""
