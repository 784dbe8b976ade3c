"""Deployment helpers: the image's health check and build steps, and backup.sh (docs/OPERATIONS.md)."""
