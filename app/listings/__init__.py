"""Listings: things for sale, photos, browse and search."""
