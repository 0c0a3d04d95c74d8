"""`nm28 bridge`: a local MQTT broker to the cloud through the module, durable (the session's
outbox), observable (Prometheus `/metrics`, `/healthz`), deployable (`--config FILE.toml`).

options (flags and config, checked), uplink (local -> outbox), downlink (cloud -> local),
metrics, run (composing them), cli (`add_parser`, `main`). Only `options` and `cli` load
without the `[bridge]` extra (aiomqtt, prometheus-client).
"""
