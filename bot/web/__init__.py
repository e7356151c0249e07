"""The HTTP side of the service: routes (/healthz, /metrics, /feed.xml) and the Atom feed."""
