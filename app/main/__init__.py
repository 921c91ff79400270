"""Home page, health check and site-wide pages."""
