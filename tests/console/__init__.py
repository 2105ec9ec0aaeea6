"""Tests of the web console at /console, driven in-process."""
