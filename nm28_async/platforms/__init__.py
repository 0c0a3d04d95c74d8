"""Helpers for the IoT platforms the manual names: CTWing and OneNet."""
