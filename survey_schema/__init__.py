"""The survey database schema, importable without Flask (see `survey_schema.models`)."""
