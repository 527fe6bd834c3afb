"""Read-side services the pages call: one module per page or area. Each is guarded by a view permission
(config/permissions.toml) and returns plain data (DataFrames, dicts), never live ORM objects."""
