"""Browser tests: pages of a real server in headless Chromium (conftest.py)."""
