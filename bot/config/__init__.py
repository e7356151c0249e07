"""Configuration: config.toml loaded into frozen typed objects, with the value parsers it uses."""
