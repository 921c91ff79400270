"""Reviews: two-way double-blind feedback and the reputation shown on pages."""
