"""Modal screens of the dashboard: help, quick action picker and confirmation."""
