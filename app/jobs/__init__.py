"""Background jobs: a registry of due jobs, run in-process or by `flask jobs run-due`."""
