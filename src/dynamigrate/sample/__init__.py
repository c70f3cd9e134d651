"""The sample online shop used by the demo and the integration tests."""

from dynamigrate.sample.generator import COLUMNS, DEFAULT_SEED, TABLES, ShopGenerator, load_sample

__all__ = ["COLUMNS", "DEFAULT_SEED", "TABLES", "ShopGenerator", "load_sample"]
