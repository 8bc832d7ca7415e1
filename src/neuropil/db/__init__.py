"""Database: models, engine set-up and migrations."""
