"""dynamigrate: move a live application's data from MySQL to Amazon DynamoDB, driven by a migration contract."""

__version__ = "0.1.0"
