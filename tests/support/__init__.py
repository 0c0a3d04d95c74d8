"""Rigs shared by the test layers: brokers, the scripted module, supervision helpers, TLS."""
