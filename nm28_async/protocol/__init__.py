"""Sans-IO core: command encoders, the incremental parser, events and result meanings.

Nothing in this package imports asyncio, touches a port or reads a clock.
"""
